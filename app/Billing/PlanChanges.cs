using Majestix.GoogleCloud.Firestore;
using Majestix.InferenceApi.Audit;
using Majestix.InferenceApi.Credits;
using Majestix.InferenceApi.Identity;
using Majestix.InferenceApi.Keys;
using Microsoft.Extensions.Options;

namespace Majestix.InferenceApi.Billing;

/// <summary>
/// Moves the plan the gateway enforces (<c>users/{uid}</c>: plan, allocation, cycle) in one Firestore transaction with
/// the ledger entry that records why, keyed on the Stripe object (a replay finds the entry and changes nothing), then
/// brings Redis and the caches along: the balance is rebuilt from the user document, the plan published to cached keys,
/// the usage report dropped. That second half runs on replays too, so a retry finishes what a crash left undone.
/// Each change checks what is stored first, so events that arrive out of order end in the right plan: an older
/// invoice never replaces a newer period, and a subscription's end or restriction only touches the plan it granted.
/// </summary>
internal sealed class PlanChanges(
    CreditLedger ledger,
    CreditStore credits,
    ApiKeyStore keys,
    UsageReports reports,
    AuditLog audit,
    IOptions<CreditOptions> creditOptions,
    TimeProvider time)
{
    private const string PlanSubscription = "plan_subscription_id";
    private const string PlanPeriodStart = "plan_period_start";
    private const string EndedSubscription = "ended_subscription_id";

    public static string EntryId(string stripeObject) => "stripe-" + stripeObject;

    public long AllocationUnits(Plan plan) => creditOptions.Value.AllocationUnits(plan);

    /// <summary><c>invoice.paid</c>: the plan's period starts; the plan bucket is the plan's allocation for it. True when the plan moved.</summary>
    public async Task<bool> StartPaidPeriodAsync(string userId, Plan plan, string subscriptionId, DateTimeOffset start, DateTimeOffset end, string invoiceId,
        CancellationToken cancellationToken)
    {
        var moved = false;
        var written = await ledger.AppendInTransactionAsync(userId, EntryId(invoiceId), async transaction =>
        {
            var user = await transaction.GetAsync(CreditLedger.UserPath(userId), cancellationToken);
            var endedHere = CreditLedger.String(user, EndedSubscription) == subscriptionId;
            // Stripe's times are whole seconds: a switch in the second the subscription started has the same start and another plan.
            var newerPeriod = CreditLedger.String(user, PlanSubscription) == subscriptionId && CreditLedger.Timestamp(user, PlanPeriodStart) is { } applied
                && (applied > start || (applied == start && CreditLedger.String(user, "plan") == plan.WireName()));
            moved = !endedHere && !newerPeriod;
            if (moved)
            {
                Stage(transaction, userId, user, new Dictionary<string, FirestoreValue>
                {
                    ["plan"] = plan.WireName(),
                    ["allocation"] = creditOptions.Value.AllocationUnits(plan),
                    ["billing_cycle_start"] = start,
                    ["billing_cycle_end"] = end,
                    [PlanSubscription] = subscriptionId,
                    [PlanPeriodStart] = start,
                });
            }
            var why = moved ? $"{plan.WireName()} period {start:yyyy-MM-dd} to {end:yyyy-MM-dd} paid" : "paid, plan unchanged (the subscription ended or a newer period applies)";
            return new LedgerEntry(LedgerEntryTypes.Plan, 0, 0, time.GetUtcNow(), start, Reason: $"invoice {invoiceId}: {why}", StripeId: invoiceId);
        }, cancellationToken);
        await ApplyAsync(userId, cancellationToken);
        if (written)
        {
            Audit(userId, moved ? plan : null, "invoice_paid", invoiceId, subscriptionId);
        }
        return written && moved;
    }

    /// <summary><c>customer.subscription.deleted</c>: Free from now on, if this subscription is the one the plan came from. Top-ups stay.</summary>
    public Task<bool> EndSubscriptionAsync(string userId, string subscriptionId, CancellationToken cancellationToken) =>
        FreeAsync(userId, subscriptionId, $"{subscriptionId}-ended", "subscription_ended", keepSubscription: false, cancellationToken);

    /// <summary>Status <c>unpaid</c>: the Free plan's models and limits until an invoice is paid (which starts the period again).</summary>
    public Task<bool> RestrictAsync(string userId, string subscriptionId, DateTimeOffset periodStart, CancellationToken cancellationToken) =>
        FreeAsync(userId, subscriptionId, $"{subscriptionId}-unpaid-{periodStart.ToUnixTimeSeconds()}", "subscription_unpaid", keepSubscription: true,
            cancellationToken);

    private async Task<bool> FreeAsync(string userId, string subscriptionId, string key, string reason, bool keepSubscription, CancellationToken cancellationToken)
    {
        var moved = false;
        var written = await ledger.AppendInTransactionAsync(userId, EntryId(key), async transaction =>
        {
            var user = await transaction.GetAsync(CreditLedger.UserPath(userId), cancellationToken);
            moved = CreditLedger.String(user, PlanSubscription) == subscriptionId && CreditLedger.String(user, "plan") != Plan.Free.WireName();
            var fields = new Dictionary<string, FirestoreValue>();
            if (moved)
            {
                fields["plan"] = Plan.Free.WireName();
                fields["allocation"] = creditOptions.Value.AllocationUnits(Plan.Free);
            }
            if (!keepSubscription)
            {
                fields[EndedSubscription] = subscriptionId;
                if (CreditLedger.String(user, PlanSubscription) == subscriptionId)
                {
                    fields[PlanSubscription] = FirestoreValue.Null;
                }
            }
            if (fields.Count > 0)
            {
                Stage(transaction, userId, user, fields);
            }
            var why = moved ? "now on the free plan" : "plan unchanged (it did not come from this subscription)";
            return new LedgerEntry(LedgerEntryTypes.Plan, 0, 0, time.GetUtcNow(), time.GetUtcNow(), Reason: $"{reason} {subscriptionId}: {why}",
                StripeId: subscriptionId);
        }, cancellationToken);
        await ApplyAsync(userId, cancellationToken);
        if (written)
        {
            Audit(userId, moved ? Plan.Free : null, reason, subscriptionId, subscriptionId);
        }
        return written && moved;
    }

    /// <summary>Redis and the caches follow the user document: the balance is rebuilt from it, the plan published, the usage report dropped.</summary>
    public async Task ApplyAsync(string userId, CancellationToken cancellationToken)
    {
        var balance = await credits.RefreshAsync(userId, cancellationToken);
        await keys.PublishPlanAsync(userId, Plans.Parse(balance.Plan));
        reports.Forget(userId);
    }

    private void Stage(FirestoreTransaction transaction, string userId, FirestoreDocument? user, Dictionary<string, FirestoreValue> fields)
    {
        if (user is null)
        {
            // A user Stripe knows before the gateway does: the document the credit code would have created, with the change.
            var now = CreditCycle.ToMilliseconds(time.GetUtcNow());
            fields.TryAdd("uid", userId);
            fields.TryAdd("created_at", now);
            fields.TryAdd("plan", Plan.Free.WireName());
            fields.TryAdd("allocation", creditOptions.Value.AllocationUnits(Plan.Free));
            fields.TryAdd("billing_cycle_start", now);
            fields.TryAdd("billing_cycle_end", now.AddMonths(1));
            transaction.Set(CreditLedger.UserPath(userId), fields);
            return;
        }
        transaction.Update(CreditLedger.UserPath(userId), fields);
    }

    private void Audit(string userId, Plan? plan, string reason, string stripeId, string subscriptionId)
    {
        var details = new Dictionary<string, string> { ["stripe_id"] = stripeId, ["subscription_id"] = subscriptionId };
        if (plan is { } changed)
        {
            details["plan"] = changed.WireName();
        }
        audit.Record(plan is null ? BillingAuditEvents.PaymentRecorded : BillingAuditEvents.PlanChanged, null, userId: userId, reason: reason, details: details);
    }
}

internal static class BillingAuditEvents
{
    public const string PlanChanged = "plan_changed";
    public const string PaymentRecorded = "payment_recorded";
    public const string CreditsGranted = CreditAuditEvents.CreditsGranted;
    public const string CreditsReversed = "credits_reversed";
    public const string PaymentFailed = "payment_failed";
    public const string AutoTopupChanged = "auto_topup_changed";
}
