using System.Text.Json.Serialization;
using Majestix.InferenceApi.Identity;

namespace Majestix.InferenceApi.Credits;

public enum CreditBucket
{
    Plan,
    Topup,
}

internal enum ReserveStatus
{
    Reserved,

    /// <summary>Redis is down under <c>REDIS_FAILURE_POLICY=allow</c>: the call proceeds unchecked, settle writes the ledger only.</summary>
    Unenforced,

    Insufficient,
}

/// <summary>Credits held for one request; pass it back to settle.</summary>
internal sealed record CreditReservation(string UserId, string HoldId, long Units, long PlanUnits, long TopupUnits, long CycleStartMs, bool Enforced);

/// <summary>
/// Credits to hold for a call in the gate's Redis trip (<c>RedisGate.PassAsync</c>), taken only when the
/// key owner's plan is one of <paramref name="Plans"/> (the plans that may use the model).
/// </summary>
internal sealed record HoldRequest(long Units, TimeSpan Ttl, IReadOnlyCollection<Plan> Plans)
{
    public string HoldId { get; } = CreditStore.NewHoldId();
}

internal sealed record ReserveResult(ReserveStatus Status, CreditReservation? Reservation, long AvailableUnits, long RequiredUnits, string Plan);

internal enum SettleStatus
{
    Settled,

    /// <summary>The hold was settled before: nothing moved again, the first result is returned.</summary>
    Duplicate,

    /// <summary>The reaper had voided the hold: the usage was charged from what the balance held then.</summary>
    Late,

    /// <summary>Redis no longer knows the hold (its data was lost): charged in the ledger only, or not at all.</summary>
    Lost,

    Unenforced,

    /// <summary>Redis could not take the settle: the charge is in the ledger (entry id: the hold id), the Redis settle is retried.</summary>
    Deferred,

    /// <summary>Neither Redis nor the ledger could take the settle yet: both are retried (<c>CreditStore.CompleteDeferredSettleAsync</c>).</summary>
    Undelivered,
}

internal sealed record SettleResult(SettleStatus Status, long PlanUnits, long TopupUnits)
{
    public long ChargedUnits => PlanUnits + TopupUnits;

    public decimal ChargedCredits => CreditUnits.ToCredits(ChargedUnits);
}

internal sealed record GrantResult(string GrantId, long Units, bool Duplicate, bool Conflict);

internal sealed record ClawbackResult(long PlanUnits, long TopupUnits, long ShortfallUnits, bool Duplicate)
{
    public long TakenUnits => PlanUnits + TopupUnits;
}

internal sealed record CreditBalance(string Plan, long AllocationUnits, long PlanUnits, long TopupUnits, DateTimeOffset CycleStart, DateTimeOffset CycleEnd)
{
    public long TotalUnits => PlanUnits + TopupUnits;
}

/// <summary>
/// Firestore <c>users/{uid}/ledger/{entry_id}</c>: append-only, the id is the idempotency key (hold id for
/// charges, grant id for grants). Deltas in micro-credits, negative for spend. No content, no PII. <c>aggregated</c>:
/// written with its aggregates (<see cref="LedgerAggregates"/>); entries without it are folded in once.
/// </summary>
public sealed record LedgerEntry(
    string Type,
    long PlanDelta,
    long TopupDelta,
    DateTimeOffset CreatedAt,
    DateTimeOffset CycleStart,
    string? Model = null,
    string? RequestId = null,
    string? Reason = null,
    bool? Unenforced = null,
    bool? Aggregated = null,
    string? StripeId = null,
    long? ShortfallUnits = null);

public static class LedgerEntryTypes
{
    public const string Charge = "charge";
    public const string Grant = "grant";
    public const string Topup = "topup";

    /// <summary>A plan change (a paid period started, a subscription ended or was restricted): no credits move, the cycle does.</summary>
    public const string Plan = "plan";

    /// <summary>Credits taken back for a refunded payment (negative deltas; what the balance lacked is the shortfall).</summary>
    public const string Refund = "refund";
}

public sealed record GrantCreditsRequest(string? UserId, decimal? Credits, string? Reason);

public sealed record GrantCreditsResponse(string GrantId, string UserId, decimal Credits, bool Duplicate);

/// <summary>The caller's balance, in credits (fractional) on the wire.</summary>
public sealed record CreditBalanceView(
    string Plan,
    decimal PlanAllocation,
    decimal PlanCreditsRemaining,
    decimal TopupBalance,
    decimal CreditsRemaining,
    DateTimeOffset BillingCycleStart,
    DateTimeOffset BillingCycleEnd);

/// <summary><c>{"detail":{"code":"QUOTA_EXCEEDED",...}}</c>, the 402 body clients parse.</summary>
public sealed record QuotaExceededError(QuotaExceededDetail Detail);

public sealed record QuotaExceededDetail(
    string Code,
    string Message,
    [property: JsonPropertyName("credits_remaining")] decimal CreditsRemaining,
    [property: JsonPropertyName("credits_required")] decimal CreditsRequired,
    string Plan);
