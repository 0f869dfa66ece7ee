using System.Text.Json.Serialization;

namespace Majestix.InferenceApi.Sessions;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    Converters = [typeof(UtcTimestampConverter)])]
[JsonSerializable(typeof(SealedHistory))]
[JsonSerializable(typeof(SessionView))]
[JsonSerializable(typeof(string))]
internal sealed partial class SessionsJson : JsonSerializerContext;
