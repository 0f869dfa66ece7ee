using Majestix.InferenceApi.Credits;
using Majestix.InferenceApi.Identity;

namespace Majestix.InferenceApi.UsageEvents;

/// <summary>
/// What an endpoint knows about one finished model call; <see cref="UsageLog.Record"/> turns it into a
/// <see cref="UsageEvent"/>. It has no field for content: prompts, completions and e-mails cannot reach the event.
/// </summary>
public sealed record ModelCallUsage
{
    public required CallerContext Caller { get; init; }

    /// <summary>The route that served the call, e.g. <c>/code</c>.</summary>
    public required string Endpoint { get; init; }

    /// <summary>The model key actually used, after routing and fallback.</summary>
    public required string Model { get; init; }

    /// <summary><c>anthropic | openai | vertex | openrouter</c> (<c>ModelEntry.ProviderName</c>).</summary>
    public required string Provider { get; init; }

    public required long InputTokens { get; init; }

    public required long OutputTokens { get; init; }

    /// <summary>What settlement charged, in micro-credits (<see cref="CreditUnits"/>).</summary>
    public required long CreditUnits { get; init; }

    public required TimeSpan Latency { get; init; }

    /// <summary>Ignored unless <see cref="Streamed"/>: the column is null for non-streamed calls.</summary>
    public TimeSpan? TimeToFirstToken { get; init; }

    public required bool Routed { get; init; }

    /// <summary>The requested model's key when a fallback served instead (<c>ModelRun.FallbackFrom</c>).</summary>
    public string? FallbackFrom { get; init; }

    public required bool Streamed { get; init; }

    public required UsageOutcome Outcome { get; init; }

    /// <summary>Agent calls only: the <c>user_id</c> named in the body, whom the call is billed to.</summary>
    public string? BilledUserId { get; init; }

    /// <summary>Agent calls only: the task the call ran for, when the body names it (<c>source_id</c>).</summary>
    public string? AgentTaskId { get; init; }
}
