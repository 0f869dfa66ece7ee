using Majestix.MockUpstream.AnthropicMessages;
using Majestix.MockUpstream.Behaviour;
using Majestix.MockUpstream.Control;
using Majestix.MockUpstream.Generation;
using Majestix.MockUpstream.OpenAiChat;
using Majestix.MockUpstream.Serving;

namespace Majestix.MockUpstream;

internal static class MockUpstreamExtensions
{
    public const string DefaultUrl = "http://127.0.0.1:8090";

    public static WebApplicationBuilder AddMockUpstream(this WebApplicationBuilder builder)
    {
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["http_ports"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }
        var options = MockUpstreamOptions.FromConfiguration(builder.Configuration);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<BehaviourStore>();
        builder.Services.AddSingleton(new RequestLog(options.RequestLogCapacity));
        builder.Services.AddSingleton<CompletionEndpoint>();
        return builder;
    }

    public static WebApplication MapMockUpstream(this WebApplication app)
    {
        _ = TokenCounter.Tokenizer; // load the o200k ranks at boot, not on the first request

        app.MapControl();

        // Provider routes match on the path suffix so any base URL works: /v1, /api/v1 (OpenRouter),
        // /v1/projects/P/locations/L/endpoints/openapi (Vertex AI).
        var completions = app.Services.GetRequiredService<CompletionEndpoint>();
        app.MapPost("/{**path}", (RequestDelegate)(context =>
        {
            var path = context.Request.Path.Value ?? "";
            if (path.EndsWith("/chat/completions", StringComparison.Ordinal))
            {
                return completions.HandleAsync(context, OpenAiFormat.Instance);
            }
            if (path.EndsWith("/messages", StringComparison.Ordinal))
            {
                return completions.HandleAsync(context, AnthropicFormat.Instance);
            }
            if (path.EndsWith("/messages/count_tokens", StringComparison.Ordinal))
            {
                return ExecuteAsync(context, ControlEndpoints.CountTokensAsync(context));
            }
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }));
        app.MapGet("/{**path}", (RequestDelegate)(context =>
        {
            if ((context.Request.Path.Value ?? "").EndsWith("/models", StringComparison.Ordinal))
            {
                var services = context.RequestServices;
                return ControlEndpoints
                    .ListModels(context, services.GetRequiredService<BehaviourStore>(), services.GetRequiredService<MockUpstreamOptions>())
                    .ExecuteAsync(context);
            }
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }));
        return app;
    }

    private static async Task ExecuteAsync(HttpContext context, Task<IResult> result) => await (await result).ExecuteAsync(context);
}
