using System.Text.Json.Serialization;

namespace Majestix.InferenceApi.Inference.Catalog;

/// <summary>The shape of <c>models.json</c>; <see cref="ModelCatalog"/> validates it into <see cref="ModelEntry"/> values.</summary>
internal sealed record CatalogFile(IReadOnlyList<CatalogFileModel>? Models);

internal sealed record CatalogFileModel(
    string? Key,
    string? DisplayName,
    string? Provider,
    string? UpstreamModel,
    string? Category,
    int? ContextWindow,
    int? MaxOutputTokens,
    bool? SupportsTools,
    bool? SupportsThinking,
    decimal? InputUsdPerMillion,
    decimal? OutputUsdPerMillion,
    string? Tier,
    IReadOnlyList<string>? Fallbacks,
    bool? Enabled,
    string? BaseModel,
    string? SystemPrompt);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    AllowTrailingCommas = true, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(CatalogFile))]
internal sealed partial class CatalogJson : JsonSerializerContext;
