using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Majestix.MockUpstream.Control;

internal sealed record BehaviourListing(
    Dictionary<string, Dictionary<string, string>> Runtime,
    Dictionary<string, Dictionary<string, string>> Configured,
    Dictionary<string, string> Defaults);

internal sealed record ModelBehaviour(string Model, Dictionary<string, string> Behaviour);

internal sealed record ControlError(string Error);

internal sealed record OpenAiModel(string Id, string Object, long Created, string OwnedBy);

internal sealed record OpenAiModelList(string Object, OpenAiModel[] Data);

internal sealed record AnthropicModel(string Id, string Type, string DisplayName, string CreatedAt);

internal sealed record AnthropicModelList(AnthropicModel[] Data, bool HasMore, string? FirstId, string? LastId);

internal sealed record TokenCount(int InputTokens);

// Source-generated: the mock never falls back to reflection serialization.
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(RequestLogEntry[]))]
[JsonSerializable(typeof(BehaviourListing))]
[JsonSerializable(typeof(ModelBehaviour))]
[JsonSerializable(typeof(ControlError))]
[JsonSerializable(typeof(OpenAiModelList))]
[JsonSerializable(typeof(AnthropicModelList))]
[JsonSerializable(typeof(TokenCount))]
internal sealed partial class ControlJsonContext : JsonSerializerContext
{
    // Relaxed escaping keeps logged request bodies readable ("model" rather than \u0022model\u0022).
    public static ControlJsonContext Relaxed { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
