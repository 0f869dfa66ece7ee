using Majestix.GoogleCloud;
using Majestix.InferenceApi.Identity;
using Majestix.InferenceApi.Inference.Catalog;
using Majestix.InferenceApi.Inference.Providers;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Majestix.InferenceApi.Tests.Inference;

/// <summary>
/// The providers' registration (<c>AddModelProviders</c>) on its own, every provider pointed at the mock
/// upstream. One per test: nothing is shared but the mock process.
/// </summary>
internal sealed class ProviderTestHost : IAsyncDisposable
{
    public const string OpenAIKey = "sk-test-openai-k1a2";
    public const string OpenRouterKey = "sk-or-test-r3b4";
    public const string AnthropicKey = "sk-ant-test-c5d6";
    public const string GoogleToken = "ya29.test-google-token-e7f8";

    private readonly WebApplication _app;

    private ProviderTestHost(WebApplication app) => _app = app;

    public IServiceProvider Services => _app.Services;

    public FallbackRunner Runner => Services.GetRequiredService<FallbackRunner>();

    public ModelCatalog Catalog => Services.GetRequiredService<ModelCatalog>();

    public TokenCounter Counter => Services.GetRequiredService<TokenCounter>();

    public static ProviderTestHost Create(Uri mockUpstream, int requestTimeoutSeconds = 30, IDictionary<string, string?>? overrides = null)
    {
        var upstream = mockUpstream.ToString().TrimEnd('/');
        var timeout = requestTimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var builder = WebApplication.CreateBuilder();
        var settings = new Dictionary<string, string?>
        {
            ["Providers:OpenAI:BaseUrl"] = upstream + "/v1",
            ["Providers:OpenAI:ApiKey"] = OpenAIKey,
            ["Providers:OpenAI:RequestTimeoutSeconds"] = timeout,
            ["Providers:OpenRouter:BaseUrl"] = upstream + "/api/v1",
            ["Providers:OpenRouter:ApiKey"] = OpenRouterKey,
            ["Providers:OpenRouter:RequestTimeoutSeconds"] = timeout,
            ["Providers:Anthropic:BaseUrl"] = upstream,
            ["Providers:Anthropic:ApiKey"] = AnthropicKey,
            ["Providers:Anthropic:RequestTimeoutSeconds"] = timeout,
            ["Providers:Vertex:BaseUrl"] = upstream,
            ["Providers:Vertex:ProjectId"] = "majestix-test",
            ["Providers:Vertex:Location"] = "global",
            ["Providers:Vertex:RequestTimeoutSeconds"] = timeout,
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddSingleton<IGoogleAccessTokenSource>(new FixedGoogleToken(GoogleToken));
        builder.AddModelProviders();
        return new ProviderTestHost(builder.Build());
    }

    public ModelRun Start(string modelKey, ModelRequest request, Plan plan = Plan.Pro, CancellationToken cancellationToken = default) =>
        Runner.Start(modelKey, plan, request, cancellationToken);

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    private sealed class FixedGoogleToken(string token) : IGoogleAccessTokenSource
    {
        public Task<string> GetAccessTokenAsync(CancellationToken cancellationToken) => Task.FromResult(token);
    }
}

internal static class Requests
{
    public const string WeatherSchema = """{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}""";

    /// <summary>A user prompt with a unique marker, so a test finds its own requests in the mock's log.</summary>
    public static ModelRequest Prompt(string text, int maxTokens = 512, bool thinking = false, params ToolDefinition[] tools) => new()
    {
        Messages = [ModelMessage.User(text)],
        MaxTokens = maxTokens,
        EnableThinking = thinking,
        Tools = tools,
    };

    public static ToolDefinition Weather => new("get_weather", "Current weather for a city", WeatherSchema);

    public static async Task<List<ModelEvent>> ReadAllAsync(ModelRun run)
    {
        var events = new List<ModelEvent>();
        await foreach (var modelEvent in run.Events)
        {
            events.Add(modelEvent);
        }
        return events;
    }
}
