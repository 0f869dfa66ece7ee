using System.Text.Json;
using System.Text.Json.Serialization;

namespace Majestix.InferenceApi.Inference.Providers;

/// <summary>The JSON the providers parse themselves: tool inputs and schemas handed to the Anthropic SDK as objects.</summary>
[JsonSerializable(typeof(Dictionary<string, JsonElement>))]
[JsonSerializable(typeof(double))]
internal sealed partial class ProvidersJson : JsonSerializerContext;
