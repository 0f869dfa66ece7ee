using System.Text.Json.Serialization;

namespace Majestix.InferenceApi.UsageEvents;

// Nulls are written, not skipped: the row then names every column, which is what the schema test compares.
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    Converters = [typeof(UtcTimestampConverter)])]
[JsonSerializable(typeof(UsageEvent))]
internal sealed partial class UsageJson : JsonSerializerContext;
