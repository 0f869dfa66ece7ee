using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Majestix.InferenceApi.Cors;

/// <summary>
/// CORS for the web console: the configured origins get preflight answers and credentialed responses, with the
/// rate-limit headers readable by script; every other origin gets no CORS headers at all. Runs before
/// <see cref="Identity.CallerGate"/>, so a preflight (which carries no credentials) never meets authentication.
/// </summary>
internal static class BrowserAccess
{
    private static readonly string[] AllowedMethods = ["GET", "POST", "DELETE"];

    private static readonly string[] AllowedRequestHeaders = ["X-Api-Key", "Authorization", "X-Firebase-AppCheck", "Content-Type", "Idempotency-Key"];

    // What CallerGate writes on limited routes and 429s, and the request id support asks for.
    private static readonly string[] ExposedResponseHeaders = ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After", "X-Request-Id"];

    public static WebApplicationBuilder AddBrowserAccess(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<IValidateOptions<BrowserAccessOptions>, BrowserAccessOptionsValidator>();
        builder.Services.AddOptions<BrowserAccessOptions>().BindConfiguration(BrowserAccessOptions.SectionName).ValidateOnStart();
        builder.Services.AddCors();
        builder.Services.AddOptions<CorsOptions>().Configure<IOptions<BrowserAccessOptions>>((cors, access) =>
            cors.AddDefaultPolicy(policy => policy
                .WithOrigins([.. access.Value.AllowedOrigins])
                .WithMethods(AllowedMethods)
                .WithHeaders(AllowedRequestHeaders)
                .WithExposedHeaders(ExposedResponseHeaders)
                .AllowCredentials()
                .SetPreflightMaxAge(TimeSpan.FromSeconds(access.Value.PreflightMaxAgeSeconds))));
        return builder;
    }

    // Only requests from a browser carry Origin: API-key traffic skips the middleware, which would otherwise
    // create the request's Items dictionary on every call to mark that it ran.
    public static WebApplication UseBrowserAccess(this WebApplication app)
    {
        app.UseWhen(context => context.Request.Headers.ContainsKey(HeaderNames.Origin), browser => browser.UseCors());
        return app;
    }
}
