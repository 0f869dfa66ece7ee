using Majestix.InferenceApi.Inference.Providers;
using Microsoft.Extensions.Options;

namespace Majestix.InferenceApi.Inference;

internal static class GatewaySetup
{
    /// <summary>Catalog, providers, fallback and routing, plus the billing envelope every model call goes through.</summary>
    public static WebApplicationBuilder AddGateway(this WebApplicationBuilder builder)
    {
        builder.AddModelProviders();
        builder.Services.AddSingleton<ModelCall>();
        // Registered after the ledger writer and the usage publisher, so it stops first and they drain what its settles queued.
        builder.Services.AddSingleton<BackgroundSettles>();
        builder.Services.AddHostedService(provider => provider.GetRequiredService<BackgroundSettles>());
        builder.Services.AddSingleton<IValidateOptions<StreamingOptions>, StreamingOptionsValidator>();
        builder.Services.AddOptions<StreamingOptions>().BindConfiguration(StreamingOptions.SectionName).ValidateOnStart();
        return builder;
    }

    public static IEndpointRouteBuilder MapGateway(this IEndpointRouteBuilder routes)
    {
        routes.MapModels();
        routes.MapCode();
        routes.MapOpenAiCompatible();
        routes.MapChat();
        routes.MapAgentCode();
        return routes;
    }
}
