using System.Text.Json;
using Majestix.GoogleCloud.PubSub;
using Majestix.InferenceApi.Credits;
using Majestix.InferenceApi.Identity;
using Microsoft.Extensions.Options;

namespace Majestix.InferenceApi.UsageEvents;

/// <summary>
/// Hands one usage event per model call to the batching publisher without waiting: a full buffer drops
/// (and counts) the event rather than slowing the response it describes. Each call also writes one log
/// line with the event's billing fields as structured properties (named like the other lines': <c>Model</c>,
/// <c>Provider</c>), the user as the event's opaque hash: never the UID, an e-mail or any content.
/// </summary>
internal sealed partial class UsageLog(PubSubPublisher publisher, IOptions<UsageOptions> options, TimeProvider time, ILogger<UsageLog> logger)
{
    private readonly UserIdHasher _hasher = new(options.Value.UserHashSalt);

    /// <summary>False when the publisher dropped the event (it logs and counts drops); invalid input throws.</summary>
    public bool Record(HttpContext context, ModelCallUsage call)
    {
        ArgumentNullException.ThrowIfNull(context);
        return Record(context.TraceIdentifier, call);
    }

    internal bool Record(string requestId, ModelCallUsage call)
    {
        var usageEvent = Build(requestId, call);
        LogModelCall(logger, usageEvent.Endpoint, usageEvent.Model, usageEvent.Provider, usageEvent.UserId, usageEvent.InputTokens, usageEvent.OutputTokens,
            usageEvent.CreditsCharged, usageEvent.Status);
        var payload = JsonSerializer.SerializeToUtf8Bytes(usageEvent, UsageJson.Default.UsageEvent);
        // Attributes let a push or pull consumer filter without parsing; the BigQuery subscription ignores them.
        var attributes = new Dictionary<string, string>
        {
            ["model"] = usageEvent.Model,
            ["provider"] = usageEvent.Provider,
            ["source"] = usageEvent.Source,
            ["status"] = usageEvent.Status,
        };
        return publisher.TryPublish(options.Value.Topic, new PubSubMessage(payload, attributes));
    }

    // Generated: one line per model call without an argument array or boxed numbers.
    [LoggerMessage(Level = LogLevel.Information,
        Message = "Model call on {Endpoint}: {Model} ({Provider}) for user {UserId}, {InputTokens} input and {OutputTokens} output tokens, {Credits} credits, {Status}")]
    private static partial void LogModelCall(ILogger logger, string? endpoint, string model, string provider, string userId, long inputTokens, long outputTokens,
        decimal credits, string status);

    internal UsageEvent Build(string requestId, ModelCallUsage call) => ToEvent(call, requestId, time.GetUtcNow(), _hasher);

    internal static UsageEvent ToEvent(ModelCallUsage call, string requestId, DateTimeOffset eventTime, UserIdHasher hasher)
    {
        ArgumentNullException.ThrowIfNull(call);
        ArgumentException.ThrowIfNullOrEmpty(requestId);
        ArgumentException.ThrowIfNullOrEmpty(call.Endpoint);
        ArgumentException.ThrowIfNullOrEmpty(call.Model);
        ArgumentException.ThrowIfNullOrEmpty(call.Provider);
        ArgumentOutOfRangeException.ThrowIfNegative(call.InputTokens);
        ArgumentOutOfRangeException.ThrowIfNegative(call.OutputTokens);
        ArgumentOutOfRangeException.ThrowIfNegative(call.CreditUnits);
        ArgumentOutOfRangeException.ThrowIfLessThan(call.Latency, TimeSpan.Zero);
        if (call.TimeToFirstToken is { } firstToken)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(firstToken, TimeSpan.Zero);
        }

        var caller = call.Caller;
        if (caller.Source != CallerSource.Agent && (call.BilledUserId is not null || call.AgentTaskId is not null))
        {
            throw new ArgumentException("BilledUserId and AgentTaskId belong to agent calls only.", nameof(call));
        }
        var (userId, sourceId) = caller.Source switch
        {
            CallerSource.Agent => (call.BilledUserId, call.AgentTaskId ?? ServiceAccountId(caller.ServiceAccount)),
            CallerSource.ApiKey => (caller.UserId, caller.KeyId ?? throw new ArgumentException("An API-key caller without a key id.", nameof(call))),
            _ => (caller.UserId, null),
        };
        if (string.IsNullOrEmpty(userId))
        {
            throw new ArgumentException("A usage event needs the billed user (an agent call names it in BilledUserId).", nameof(call));
        }

        return new UsageEvent(
            Guid.CreateVersion7().ToString(),
            eventTime,
            requestId,
            hasher.Hash(userId),
            caller.SourceName,
            sourceId,
            call.Endpoint,
            call.Model,
            call.Provider,
            call.InputTokens,
            call.OutputTokens,
            CreditUnits.ToCredits(call.CreditUnits),
            WholeMilliseconds(call.Latency),
            call.Streamed && call.TimeToFirstToken is { } ttft ? WholeMilliseconds(ttft) : null,
            call.Routed,
            call.FallbackFrom,
            call.Streamed,
            call.Outcome.StatusName,
            call.Outcome.ErrorCode);
    }

    // The account's name without its domain: it identifies the calling service, and the column never holds an e-mail address.
    private static string? ServiceAccountId(string? serviceAccount) =>
        serviceAccount is null ? null : "sa:" + serviceAccount.Split('@')[0];

    private static long WholeMilliseconds(TimeSpan duration) => duration.Ticks / TimeSpan.TicksPerMillisecond;
}
