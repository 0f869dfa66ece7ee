using System.Text.Json.Serialization;
using Majestix.InferenceApi.Audit;
using Majestix.InferenceApi.Errors;
using Majestix.InferenceApi.Keys;

namespace Majestix.InferenceApi;

/// <summary>Every type the API serializes, source-generated, with the wire's snake_case names.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    Converters = [typeof(UtcTimestampConverter)])]
[JsonSerializable(typeof(ErrorDetail))]
[JsonSerializable(typeof(RateLimitedError))]
[JsonSerializable(typeof(AuditEvent))]
[JsonSerializable(typeof(IReadOnlyDictionary<string, string>))]
[JsonSerializable(typeof(CreateApiKeyRequest))]
[JsonSerializable(typeof(CreatedApiKey))]
[JsonSerializable(typeof(ApiKeyList))]
[JsonSerializable(typeof(ApiKeyRecord))]
[JsonSerializable(typeof(UserPlanRecord))]
[JsonSerializable(typeof(Majestix.InferenceApi.Inference.ModelList))]
[JsonSerializable(typeof(Majestix.InferenceApi.Identity.CallerView))]
internal sealed partial class AppJson : JsonSerializerContext
{
    /// <summary>Minimal APIs serialize with their own options: give them the same names, converters and metadata.</summary>
    public static void Configure(System.Text.Json.JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower;
        options.Converters.Add(new UtcTimestampConverter());
        options.TypeInfoResolverChain.Insert(0, Default);
    }
}
