// Not "…InferenceApi.Usage" like the folder: that namespace would hide the providers' Usage record from all code in Majestix.InferenceApi.*.
namespace Majestix.InferenceApi.UsageEvents;

/// <summary>One row of BigQuery <c>usage_events</c> (schema: infra/schemas/usage_events.json).</summary>
public sealed record UsageEvent(
    string EventId,
    DateTimeOffset EventTime,
    string RequestId,
    string UserId,
    string Source,
    string? SourceId,
    string? Endpoint,
    string Model,
    string Provider,
    long InputTokens,
    long OutputTokens,
    decimal CreditsCharged,
    long LatencyMs,
    long? TimeToFirstTokenMs,
    bool Routed,
    string? FallbackFrom,
    bool Streamed,
    string Status,
    string? ErrorCode);
