using System.Text.Json.Serialization;

namespace Majestix.InferenceApi.Credits;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(UtcTimestampConverter)])]
[JsonSerializable(typeof(LedgerEntry))]
[JsonSerializable(typeof(GrantCreditsRequest))]
[JsonSerializable(typeof(GrantCreditsResponse))]
[JsonSerializable(typeof(CreditBalanceView))]
[JsonSerializable(typeof(QuotaExceededError))]
[JsonSerializable(typeof(UsageReport))]
[JsonSerializable(typeof(AnalyticsReport))]
[JsonSerializable(typeof(ModelEconomicsReport))]
internal sealed partial class CreditsJson : JsonSerializerContext;
