using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Majestix.InferenceApi.Inference.Providers;

/// <summary>Where one provider lives and how long a call to it may take. Bound from <c>Providers:{Name}</c>.</summary>
public class ProviderEndpointOptions
{
    [Required]
    public string BaseUrl { get; set; } = "";

    [Range(1, 120)]
    public int ConnectTimeoutSeconds { get; set; } = 5;

    /// <summary>The whole call, first byte to last token; beyond it the call fails as a timeout.</summary>
    [Range(1, 3600)]
    public int RequestTimeoutSeconds { get; set; } = 300;

    public Uri BaseUri => new(BaseUrl.TrimEnd('/') + "/");

    internal TimeSpan RequestTimeout => TimeSpan.FromSeconds(RequestTimeoutSeconds);
}

public class KeyedProviderOptions : ProviderEndpointOptions
{
    [Required]
    public string ApiKey { get; set; } = "";
}

public sealed class OpenAIProviderOptions : KeyedProviderOptions
{
    public const string SectionName = "Providers:OpenAI";

    public OpenAIProviderOptions() => BaseUrl = "https://api.openai.com/v1";
}

public sealed class OpenRouterProviderOptions : KeyedProviderOptions
{
    public const string SectionName = "Providers:OpenRouter";

    public OpenRouterProviderOptions() => BaseUrl = "https://openrouter.ai/api/v1";
}

public sealed class AnthropicProviderOptions : KeyedProviderOptions
{
    public const string SectionName = "Providers:Anthropic";

    public AnthropicProviderOptions() => BaseUrl = "https://api.anthropic.com";
}

/// <summary>Vertex AI's OpenAI-compatible endpoint; the credential is a Google access token fetched per request.</summary>
public sealed class VertexProviderOptions : ProviderEndpointOptions
{
    public const string SectionName = "Providers:Vertex";

    public VertexProviderOptions() => BaseUrl = "https://aiplatform.googleapis.com";

    [Required]
    public string ProjectId { get; set; } = "";

    [Required]
    public string Location { get; set; } = "global";

    /// <summary>
    /// Dev and tests only: a fixed bearer token used instead of application default credentials, for a
    /// machine without Google credentials pointed at the mock upstream. Leave empty in deployments.
    /// </summary>
    public string? StaticAccessToken { get; set; }

    public Uri OpenAICompatibleEndpoint =>
        new($"{BaseUrl.TrimEnd('/')}/v1/projects/{Uri.EscapeDataString(ProjectId)}/locations/{Uri.EscapeDataString(Location)}/endpoints/openapi");
}

[OptionsValidator]
public sealed partial class OpenAIProviderOptionsValidator : IValidateOptions<OpenAIProviderOptions>;

[OptionsValidator]
public sealed partial class OpenRouterProviderOptionsValidator : IValidateOptions<OpenRouterProviderOptions>;

[OptionsValidator]
public sealed partial class AnthropicProviderOptionsValidator : IValidateOptions<AnthropicProviderOptions>;

[OptionsValidator]
public sealed partial class VertexProviderOptionsValidator : IValidateOptions<VertexProviderOptions>;
