namespace Majestix.InferenceApi.Inference.Catalog;

public enum ModelProvider
{
    OpenAI,
    Anthropic,
    Vertex,
    OpenRouter,
}

public enum ModelTier
{
    Fast,
    Standard,
    Premium,
    Custom,
}

/// <summary>
/// One model as the gateway offers it. A custom model (<see cref="BaseModel"/> set) runs on its base
/// model's provider and upstream id with <see cref="SystemPrompt"/> placed before the caller's system prompt.
/// </summary>
public sealed record ModelEntry(
    string Key,
    string DisplayName,
    ModelProvider Provider,
    string UpstreamModel,
    string Category,
    int ContextWindow,
    int MaxOutputTokens,
    bool SupportsTools,
    bool SupportsThinking,
    decimal InputUsdPerMillion,
    decimal OutputUsdPerMillion,
    ModelTier Tier,
    IReadOnlyList<string> Fallbacks,
    bool Enabled,
    string? BaseModel = null,
    string? SystemPrompt = null)
{
    public bool IsCustom => BaseModel is not null;

    public string ProviderName => Provider switch
    {
        ModelProvider.OpenAI => "openai",
        ModelProvider.Anthropic => "anthropic",
        ModelProvider.Vertex => "vertex",
        _ => "openrouter",
    };
}
