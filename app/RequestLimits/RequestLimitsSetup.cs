using Majestix.InferenceApi.RequestLimits;
using Microsoft.Extensions.Options;

// In the root namespace so that Program.cs and the endpoint files reach it without a using: one line each.
namespace Majestix.InferenceApi;

internal static class RequestBodyLimitExtensions
{
    /// <summary>Bodies up to <see cref="RequestLimitOptions.ModelCallBytes"/>; without it, an endpoint takes <see cref="RequestLimitOptions.DefaultBytes"/>.</summary>
    public static TBuilder AcceptsModelCallBodies<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(ModelCallBody.Instance);

    public static WebApplicationBuilder AddRequestLimits(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<IValidateOptions<RequestLimitOptions>, RequestLimitOptionsValidator>();
        builder.Services.AddOptions<RequestLimitOptions>().BindConfiguration(RequestLimitOptions.SectionName).ValidateOnStart();
        return builder;
    }

    /// <summary>After routing (the limit is the endpoint's) and before the caller gate (a refused body costs no Redis trip).</summary>
    public static WebApplication UseRequestBodyLimits(this WebApplication app)
    {
        app.UseMiddleware<RequestBodyLimit>();
        return app;
    }
}
