namespace Majestix.InferenceApi.Billing;

/// <summary>
/// Firestore <c>billing_accounts/{uid}</c>: the user's Stripe customer, subscription as last synced from Stripe,
/// card on file and auto top-up. The plan the gateway enforces lives on <c>users/{uid}</c> (see <see cref="PlanChanges"/>).
/// </summary>
public sealed record BillingAccount(
    string UserId,
    string? CustomerId = null,
    string? SubscriptionId = null,
    string? SubscriptionStatus = null,
    string? SubscriptionPlan = null,
    DateTimeOffset? CurrentPeriodStart = null,
    DateTimeOffset? CurrentPeriodEnd = null,
    bool? CancelAtPeriodEnd = null,
    CardOnFile? Card = null,
    AutoTopupSettings? AutoTopup = null,
    AutoTopupState? AutoTopupState = null,
    string? PaymentProblem = null,
    DateTimeOffset? UpdatedAt = null)
{
    /// <summary>A subscription Stripe still bills: a new checkout would make a second one.</summary>
    public bool HasLiveSubscription => SubscriptionId is not null && SubscriptionStatus is "active" or "trialing" or "past_due" or "unpaid" or "incomplete";
}

public sealed record CardOnFile(string PaymentMethodId, string? Brand, string? Last4);

public sealed record AutoTopupSettings(bool Enabled, long ThresholdCredits, string Tier, long MonthlyLimitUsd);

/// <summary>
/// What auto top-up did: the month's charges (reserved before each PaymentIntent, given back when it fails), the
/// day's attempts, the idempotency key of a charge whose outcome is not known yet (the next attempt reuses it, so a
/// lost answer never becomes a second charge), declines in a row, and the last outcome the user sees.
/// </summary>
public sealed record AutoTopupState(
    string? Month = null,
    long MonthSpentCents = 0,
    string? Day = null,
    int DayAttempts = 0,
    string? PendingKey = null,
    long PendingAmountCents = 0,
    int ConsecutiveDeclines = 0,
    string? PausedReason = null,
    string? LastIntentId = null,
    string? LastOutcome = null,
    string? LastOutcomeReason = null,
    DateTimeOffset? LastOutcomeAt = null,
    IReadOnlyList<string>? SettledIntents = null);

/// <summary>
/// Firestore <c>stripe_payments/{payment intent id}</c>: what a payment granted, so a refund of it takes back its share.
/// </summary>
public sealed record StripePayment(string UserId, string GrantId, string Bucket, long Units, long AmountCents, string Kind, DateTimeOffset CreatedAt);

/// <summary>Firestore <c>stripe_checkouts/{session id}</c>: a top-up paid by an asynchronous method, until it settles.</summary>
public sealed record StripeCheckout(string UserId, string Tier, string Status, DateTimeOffset UpdatedAt);

/// <summary>Firestore <c>stripe_customers/{customer id}</c>: whose customer it is.</summary>
public sealed record StripeCustomerLink(string UserId, DateTimeOffset CreatedAt);

public sealed record CheckoutRequest(string? Plan);

public sealed record TopupRequest(string? Tier);

public sealed record CheckoutResponse(string CheckoutUrl);

public sealed record PortalResponse(string PortalUrl);

public sealed record AutoTopupRequest(bool? Enabled, long? ThresholdCredits, string? Tier, long? MonthlyLimitUsd);

public sealed record BillingView(
    string Plan,
    SubscriptionView? Subscription,
    CardView? Card,
    AutoTopupView AutoTopup,
    string? PaymentProblem);

public sealed record SubscriptionView(string Id, string? Status, string? Plan, DateTimeOffset? CurrentPeriodStart, DateTimeOffset? CurrentPeriodEnd, bool CancelAtPeriodEnd);

public sealed record CardView(string? Brand, string? Last4);

public sealed record AutoTopupView(
    bool Enabled,
    long? ThresholdCredits,
    string? Tier,
    long? MonthlyLimitUsd,
    decimal SpentThisMonthUsd,
    string? PausedReason,
    AutoTopupOutcomeView? LastOutcome);

public sealed record AutoTopupOutcomeView(string Status, string? Reason, DateTimeOffset? At, string? PaymentIntentId);

public sealed record WebhookReceipt(bool Received, string? Ignored = null);
