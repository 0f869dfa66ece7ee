using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Context.Propagation;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Serilog;
using Serilog.Events;

namespace Majestix.ServiceDefaults;

/// <summary>What every Majestix service shares: structured logs, request ids, traces, health.</summary>
public static class ServiceDefaultsExtensions
{
    public const string HealthPath = "/health";

    /// <summary>
    /// Adds Cloud Logging JSON logs, OpenTelemetry tracing (OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>
    /// is set), health checks and ProblemDetails. <paramref name="serviceName"/> is the default for
    /// <c>Observability:ServiceName</c>.
    /// </summary>
    public static WebApplicationBuilder AddServiceDefaults(this WebApplicationBuilder builder, string serviceName)
    {
        ArgumentNullException.ThrowIfNull(builder);

        var configuration = builder.Configuration;
        builder.Services.AddOptions<ObservabilityOptions>()
            .BindConfiguration(ObservabilityOptions.SectionName)
            .Configure(options =>
            {
                if (string.IsNullOrEmpty(options.ServiceName))
                {
                    options.ServiceName = serviceName;
                }
                options.TraceProjectId ??= configuration["GOOGLE_CLOUD_PROJECT"];
            })
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<ObservabilityOptions>, ObservabilityOptionsValidator>();

        builder.Services.AddSerilog((services, logger) =>
        {
            var options = services.GetRequiredService<IOptions<ObservabilityOptions>>().Value;
            logger
                .MinimumLevel.Is(options.MinimumLevel)
                // Request logging below replaces the framework's per-request lines.
                .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
                .MinimumLevel.Override("Microsoft.AspNetCore.Hosting.Diagnostics", LogEventLevel.Warning)
                .MinimumLevel.Override("Microsoft.Hosting.Lifetime", LogEventLevel.Information)
                .MinimumLevel.Override("System.Net.Http.HttpClient", LogEventLevel.Warning)
                .Enrich.FromLogContext()
                .Enrich.WithProperty("service", options.ServiceName)
                // One buffered write per burst of lines, made off the request path.
                .WriteTo.Sink(new StdoutLogSink(new CloudLoggingFormatter(options.TraceProjectId), new BufferedStream(Console.OpenStandardOutput(), 64 * 1024)));
        });

        builder.Services.AddProblemDetails();
        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), tags: ["live"]);

        // ASP.NET Core and HttpClient read and write W3C trace context themselves. The SDK's default propagator
        // (trace context and baggage) made its instrumentation extract every incoming header and build every
        // outgoing traceparent a second time; neither service uses baggage.
        Sdk.SetDefaultTextMapPropagator(new TraceContextPropagator());
        var otlpEndpoint = configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(configuration[$"{ObservabilityOptions.SectionName}:ServiceName"] ?? serviceName))
            .WithTracing(tracing =>
            {
                tracing
                    .AddAspNetCoreInstrumentation(options => options.Filter = context => !context.Request.Path.StartsWithSegments(HealthPath))
                    .AddHttpClientInstrumentation();
                if (!string.IsNullOrWhiteSpace(otlpEndpoint))
                {
                    tracing.AddOtlpExporter();
                }
            });

        return builder;
    }

    /// <summary>Request ids and request logging; call first in the pipeline.</summary>
    public static WebApplication UseServiceDefaults(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseMiddleware<RequestIdMiddleware>();
        app.UseSerilogRequestLogging(options =>
        {
            options.MessageTemplate = "{RequestMethod} {RequestPath} responded {StatusCode} in {Elapsed:0.000} ms";
            // Cloud Logging renders httpRequest specially. The query string is left out: it can carry secrets.
            options.EnrichDiagnosticContext = (diagnostics, context) => diagnostics.Set("httpRequest", new Dictionary<string, object?>
            {
                ["requestMethod"] = context.Request.Method,
                ["requestUrl"] = context.Request.Path.Value,
                ["status"] = context.Response.StatusCode,
                ["userAgent"] = context.Request.Headers.UserAgent.ToString(),
                ["protocol"] = context.Request.Protocol,
            });
            // Probes would drown the logs; a failing health check logs its own reason.
            options.GetLevel = (context, _, exception) =>
                context.Request.Path.StartsWithSegments(HealthPath) ? LogEventLevel.Verbose
                : exception is not null || context.Response.StatusCode >= 500 ? LogEventLevel.Error
                : LogEventLevel.Information;
        });
        return app;
    }

    /// <summary>Maps <c>GET /health</c> (liveness: the process serves requests).</summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var serviceName = app.Services.GetRequiredService<IOptions<ObservabilityOptions>>().Value.ServiceName;
        app.MapHealthChecks(HealthPath, new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains("live"),
            ResponseWriter = (context, report) => WriteHealth(context, report, serviceName),
        }).DisableHttpMetrics();
        return app;
    }

    private static Task WriteHealth(HttpContext context, HealthReport report, string serviceName)
    {
        context.Response.ContentType = "application/json";
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("status", report.Status == HealthStatus.Healthy ? "ok" : report.Status.ToString().ToLowerInvariant());
            writer.WriteString("service", serviceName);
            writer.WriteEndObject();
        }
        context.Response.ContentLength = buffer.WrittenCount;
        return context.Response.Body.WriteAsync(buffer.WrittenMemory).AsTask();
    }
}
