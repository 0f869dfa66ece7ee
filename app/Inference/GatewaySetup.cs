using Majestix.InferenceApi.Inference.Providers;

namespace Majestix.InferenceApi.Inference;

internal static class GatewaySetup
{
    /// <summary>Catalog, providers, fallback and routing, plus the billing envelope every model call goes through.</summary>
    public static WebApplicationBuilder AddGateway(this WebApplicationBuilder builder)
    {
        builder.AddModelProviders();
        builder.Services.AddSingleton<ModelCall>();
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
