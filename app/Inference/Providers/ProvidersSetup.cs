using Majestix.GoogleCloud;
using Majestix.InferenceApi.Inference.Catalog;
using Majestix.InferenceApi.Inference.Providers.Anthropic;
using Majestix.InferenceApi.Inference.Providers.OpenAiCompatible;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Majestix.InferenceApi.Inference.Providers;

internal static class ProvidersSetup
{
    /// <summary>Where the catalog is read from; defaults to the copy next to the app.</summary>
    public const string CatalogPathKey = "Providers:CatalogPath";

    /// <summary>The model catalog (loaded and validated now: a bad catalog stops startup), the four providers, fallback, routing and token counting.</summary>
    public static WebApplicationBuilder AddModelProviders(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var configuration = builder.Configuration;
        var catalogPath = configuration[CatalogPathKey] is { Length: > 0 } path
            ? path
            : Path.Combine(AppContext.BaseDirectory, "Inference", "Catalog", "models.json");
        services.AddSingleton(ModelCatalog.Load(catalogPath));

        AddEndpoint<OpenAIProviderOptions, OpenAIProviderOptionsValidator>(services, OpenAIProviderOptions.SectionName);
        AddEndpoint<OpenRouterProviderOptions, OpenRouterProviderOptionsValidator>(services, OpenRouterProviderOptions.SectionName);
        AddEndpoint<AnthropicProviderOptions, AnthropicProviderOptionsValidator>(services, AnthropicProviderOptions.SectionName);
        AddEndpoint<VertexProviderOptions, VertexProviderOptionsValidator>(services, VertexProviderOptions.SectionName)
            .Configure(options => options.ProjectId = options.ProjectId is { Length: > 0 } ? options.ProjectId : configuration["GOOGLE_CLOUD_PROJECT"] ?? "");
        services.TryAddSingleton<IGoogleAccessTokenSource, ApplicationDefaultTokenSource>();

        AddProviderHttpClient<OpenAIProviderOptions>(services, "openai");
        AddProviderHttpClient<OpenRouterProviderOptions>(services, "openrouter");
        AddProviderHttpClient<AnthropicProviderOptions>(services, "anthropic");
        AddProviderHttpClient<VertexProviderOptions>(services, "vertex");

        services.AddSingleton(provider =>
        {
            var http = provider.GetRequiredService<IHttpClientFactory>();
            var openAI = provider.GetRequiredService<IOptions<OpenAIProviderOptions>>().Value;
            var openRouter = provider.GetRequiredService<IOptions<OpenRouterProviderOptions>>().Value;
            var anthropic = provider.GetRequiredService<IOptions<AnthropicProviderOptions>>().Value;
            var vertex = provider.GetRequiredService<IOptions<VertexProviderOptions>>().Value;
            return new ModelProviders(new Dictionary<ModelProvider, IModelProvider>
            {
                [ModelProvider.OpenAI] = new OpenAICompatibleProvider(OpenAICompatibleDialect.OpenAI, openAI.BaseUri,
                    FixedToken(openAI.ApiKey), http.CreateClient("openai"), openAI.RequestTimeout),
                [ModelProvider.OpenRouter] = new OpenAICompatibleProvider(OpenAICompatibleDialect.OpenRouter, openRouter.BaseUri,
                    FixedToken(openRouter.ApiKey), http.CreateClient("openrouter"), openRouter.RequestTimeout),
                [ModelProvider.Vertex] = new OpenAICompatibleProvider(OpenAICompatibleDialect.Vertex, vertex.OpenAICompatibleEndpoint,
                    VertexAuthentication(vertex, provider), http.CreateClient("vertex"), vertex.RequestTimeout),
                [ModelProvider.Anthropic] = new AnthropicProvider(anthropic, http.CreateClient("anthropic")),
            });
        });
        services.AddSingleton<TokenCounter>();
        services.AddSingleton<FallbackRunner>();
        services.AddSingleton<ModelRouter>();
        return builder;
    }

    /// <summary>
    /// Vertex AI takes a Google access token instead of an API key. The token source caches and refreshes
    /// it, so asking on every request is a cache hit until the token nears expiry.
    /// </summary>
    private static Func<CancellationToken, Task<string>> VertexAuthentication(VertexProviderOptions vertex, IServiceProvider provider) =>
        vertex.StaticAccessToken is { Length: > 0 } token
            ? FixedToken(token)
            : provider.GetRequiredService<IGoogleAccessTokenSource>().GetAccessTokenAsync;

    private static Func<CancellationToken, Task<string>> FixedToken(string token)
    {
        var completed = Task.FromResult(token);
        return _ => completed;
    }

    private static OptionsBuilder<TOptions> AddEndpoint<TOptions, TValidator>(IServiceCollection services, string section)
        where TOptions : ProviderEndpointOptions
        where TValidator : class, IValidateOptions<TOptions>
    {
        services.AddSingleton<IValidateOptions<TOptions>, TValidator>();
        return services.AddOptions<TOptions>()
            .BindConfiguration(section)
            .Validate(options => Uri.TryCreate(options.BaseUrl, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp),
                $"{section}:BaseUrl must be an absolute http(s) URL")
            .ValidateOnStart();
    }

    /// <summary>
    /// One client per provider. The providers live for the process, so connections are recycled by
    /// the handler's pooled-connection lifetime (DNS changes) instead of by the factory's handler rotation.
    /// No resilience handler: a retry here would multiply billable upstream calls behind the fallback.
    /// No factory loggers: their per-request lines sit below the level we write, yet their log scope
    /// cost CPU on every model call; failures are logged where they are handled (<c>ProviderCall</c>).
    /// </summary>
    private static void AddProviderHttpClient<TOptions>(IServiceCollection services, string name)
        where TOptions : ProviderEndpointOptions
    {
        services.AddHttpClient(name, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(provider => new SocketsHttpHandler
            {
                ConnectTimeout = TimeSpan.FromSeconds(provider.GetRequiredService<IOptions<TOptions>>().Value.ConnectTimeoutSeconds),
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                // Every call is a stream of small events: compressing them gains nothing and would hold chunks
                // back, so no Accept-Encoding is sent (and no decompression layer wraps every response).
                AutomaticDecompression = System.Net.DecompressionMethods.None,
            })
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan)
            .RemoveAllLoggers();
    }
}
