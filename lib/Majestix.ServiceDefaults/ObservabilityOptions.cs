using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Majestix.ServiceDefaults;

/// <summary>
/// How a service names itself in logs and traces. Where traces go is OpenTelemetry's own
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>, read by the exporter.
/// </summary>
public sealed class ObservabilityOptions
{
    public const string SectionName = "Observability";

    /// <summary>Service name in traces and log lines (e.g. <c>inference-api</c>).</summary>
    [Required, RegularExpression("^[a-z][a-z0-9-]{1,62}$")]
    public string ServiceName { get; set; } = "";

    /// <summary>
    /// GCP project that owns the traces; Cloud Logging links a log line to its trace only when the
    /// trace field is <c>projects/{project}/traces/{id}</c>. Empty locally.
    /// </summary>
    public string? TraceProjectId { get; set; }

    /// <summary>Minimum level written to stdout.</summary>
    public Serilog.Events.LogEventLevel MinimumLevel { get; set; } = Serilog.Events.LogEventLevel.Information;
}

[OptionsValidator]
public sealed partial class ObservabilityOptionsValidator : IValidateOptions<ObservabilityOptions>;
