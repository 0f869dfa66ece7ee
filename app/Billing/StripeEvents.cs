using System.Net;
using Majestix.InferenceApi.Audit;
using Majestix.InferenceApi.Credits;
using Majestix.InferenceApi.Identity;
using Stripe;
using Stripe.Checkout;
using Plan = Majestix.InferenceApi.Identity.Plan;

namespace Majestix.InferenceApi.Billing;

/// <summary>
/// What each of the 11 webhook events does. Every money flow grants in exactly one place, keyed on its Stripe object
/// (checkout top-up: the session; subscription: the invoice; auto top-up: the payment intent; refund: the refund), so
/// replays, copies delivered to two instances at once and any order of arrival grant once. State that is not money
/// (subscription status, plan, period) is read fresh from Stripe rather than taken from the event, so an old event
/// arriving late cannot undo a newer one. A handler that cannot record throws: the webhook answers 5xx and Stripe retries.
/// </summary>
internal sealed class StripeEvents(
    StripeClient stripe,
    BillingStore store,
    BillingCatalog catalog,
    PlanChanges planChanges,
    CreditStore credits,
    AutoTopup autoTopup,
    UsageReports reports,
    AuditLog audit,
    TimeProvider time,
    ILogger<StripeEvents> logger)
{
    public static readonly IReadOnlySet<string> Handled = new HashSet<string>(StringComparer.Ordinal)
    {
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "invoice.paid",
        "invoice.payment_failed",
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "charge.refunded",
    };

    /// <summary>Handles one event; returns why it was ignored, or null when it was applied (or had been already).</summary>
    public Task<string?> HandleAsync(Event stripeEvent, CancellationToken cancellationToken) => (stripeEvent.Type, stripeEvent.Data?.Object) switch
    {
        ("checkout.session.completed", Session session) => CheckoutCompletedAsync(session, cancellationToken),
        ("checkout.session.async_payment_succeeded", Session session) => AsyncPaymentSucceededAsync(session, cancellationToken),
        ("checkout.session.async_payment_failed", Session session) => AsyncPaymentFailedAsync(session, cancellationToken),
        ("customer.subscription.created" or "customer.subscription.updated" or "customer.subscription.deleted", Subscription subscription) =>
            SyncSubscriptionAsync(subscription.Id, subscription.Metadata, subscription.CustomerId, cancellationToken),
        ("invoice.paid", Invoice invoice) => InvoicePaidAsync(invoice, cancellationToken),
        ("invoice.payment_failed", Invoice invoice) => InvoiceFailedAsync(invoice, cancellationToken),
        ("payment_intent.succeeded", PaymentIntent intent) => IntentSucceededAsync(intent, cancellationToken),
        ("payment_intent.payment_failed", PaymentIntent intent) => IntentFailedAsync(intent, cancellationToken),
        ("charge.refunded", Charge charge) => ChargeRefundedAsync(charge, cancellationToken),
        _ when Handled.Contains(stripeEvent.Type) => Task.FromResult<string?>($"{stripeEvent.Type} without the object it should carry"),
        _ => Task.FromResult<string?>($"{stripeEvent.Type} is not an event billing acts on"),
    };

    private async Task<string?> CheckoutCompletedAsync(Session session, CancellationToken cancellationToken)
    {
        if (await UserOfAsync(session.ClientReferenceId, session.CustomerId, cancellationToken) is not { } userId)
        {
            return UnknownCustomer(session.CustomerId);
        }
        if (session.CustomerId is { } customerId)
        {
            await store.LinkCustomerAsync(userId, customerId, cancellationToken);
        }
        if (session.Mode == "subscription")
        {
            // The invoice grants; this only links the subscription.
            return session.SubscriptionId is { } subscriptionId
                ? await SyncSubscriptionAsync(subscriptionId, null, session.CustomerId, cancellationToken, userId)
                : "a subscription checkout without a subscription";
        }
        if (session.Mode != "payment" || catalog.TierNamed(session.Metadata?.GetValueOrDefault("tier")) is not { } tier)
        {
            return "not a checkout billing created";
        }
        if (session.PaymentStatus != "paid")
        {
            // An asynchronous method: credits when it settles (async_payment_succeeded).
            await store.RecordCheckoutAsync(session.Id, new StripeCheckout(userId, tier.Name, "pending", time.GetUtcNow()), cancellationToken);
            return null;
        }
        await GrantTopupAsync(userId, session, tier, cancellationToken);
        return null;
    }

    private async Task<string?> AsyncPaymentSucceededAsync(Session session, CancellationToken cancellationToken)
    {
        if (await UserOfAsync(session.ClientReferenceId, session.CustomerId, cancellationToken) is not { } userId)
        {
            return UnknownCustomer(session.CustomerId);
        }
        if (catalog.TierNamed(session.Metadata?.GetValueOrDefault("tier")) is not { } tier)
        {
            return "not a checkout billing created";
        }
        await GrantTopupAsync(userId, session, tier, cancellationToken);
        return null;
    }

    private async Task<string?> AsyncPaymentFailedAsync(Session session, CancellationToken cancellationToken)
    {
        if (await UserOfAsync(session.ClientReferenceId, session.CustomerId, cancellationToken) is not { } userId)
        {
            return UnknownCustomer(session.CustomerId);
        }
        var tier = session.Metadata?.GetValueOrDefault("tier") ?? "";
        await store.RecordCheckoutAsync(session.Id, new StripeCheckout(userId, tier, "failed", time.GetUtcNow()), cancellationToken);
        await store.UpdateAccountAsync(userId, account => account with
        {
            PaymentProblem = "Your top-up payment did not go through; no credits were added. Try again with another payment method.",
        }, cancellationToken);
        audit.Record(BillingAuditEvents.PaymentFailed, null, userId: userId, reason: "topup_payment_failed",
            details: new Dictionary<string, string> { ["stripe_id"] = session.Id });
        return null;
    }

    private async Task GrantTopupAsync(string userId, Session session, TopupTier tier, CancellationToken cancellationToken)
    {
        var grantId = PlanChanges.EntryId(session.Id);
        if (session.PaymentIntentId is { } intentId)
        {
            await store.RecordPaymentAsync(intentId, new StripePayment(userId, grantId, "topup", tier.Units, session.AmountTotal ?? tier.AmountCents,
                "checkout_topup", time.GetUtcNow()), cancellationToken);
        }
        var granted = await credits.GrantAsync(userId, CreditBucket.Topup, tier.Units, grantId, $"Stripe checkout {session.Id}: {tier.Name} top-up",
            LedgerEntryTypes.Topup, cancellationToken);
        reports.Forget(userId);
        if (!granted.Duplicate)
        {
            AuditGrant(userId, session.Id, tier.Units, "checkout_topup");
        }
        await store.RecordCheckoutAsync(session.Id, new StripeCheckout(userId, tier.Name, "granted", time.GetUtcNow()), cancellationToken);
        if (session.PaymentIntentId is { } paid)
        {
            var intent = await stripe.V1.PaymentIntents.GetAsync(paid, new PaymentIntentGetOptions { Expand = ["payment_method"] },
                cancellationToken: cancellationToken);
            if (intent.SetupFutureUsage == "off_session" && CardOf(intent.PaymentMethod) is { } card)
            {
                await store.UpdateAccountAsync(userId, account => account with { Card = card, PaymentProblem = null }, cancellationToken);
            }
        }
    }

    private async Task<string?> SyncSubscriptionAsync(string subscriptionId, Dictionary<string, string>? metadata, string? customerId,
        CancellationToken cancellationToken, string? knownUser = null)
    {
        var subscription = await stripe.V1.Subscriptions.GetAsync(subscriptionId, new SubscriptionGetOptions { Expand = ["default_payment_method"] },
            cancellationToken: cancellationToken);
        var userId = knownUser ?? await UserOfAsync(subscription.Metadata?.GetValueOrDefault("uid") ?? metadata?.GetValueOrDefault("uid"),
            subscription.CustomerId ?? customerId, cancellationToken);
        if (userId is null)
        {
            return UnknownCustomer(subscription.CustomerId);
        }
        var item = subscription.Items?.Data?.FirstOrDefault();
        var plan = catalog.PlanOfPrice(item?.Price?.Id);
        var ended = subscription.Status is "canceled" or "incomplete_expired";
        await store.UpdateAccountAsync(userId, account =>
        {
            if (ended && account.SubscriptionId is { } current && current != subscription.Id)
            {
                return account; // an older subscription's end: the account follows the newer one
            }
            return account with
            {
                SubscriptionId = subscription.Id,
                SubscriptionStatus = subscription.Status,
                SubscriptionPlan = plan?.Plan.WireName(),
                CurrentPeriodStart = item is null ? null : Utc(item.CurrentPeriodStart),
                CurrentPeriodEnd = item is null ? null : Utc(item.CurrentPeriodEnd),
                CancelAtPeriodEnd = subscription.CancelAtPeriodEnd,
                Card = CardOf(subscription.DefaultPaymentMethod) ?? account.Card,
                PaymentProblem = subscription.Status switch
                {
                    "past_due" => account.PaymentProblem ?? "The last subscription payment failed; Stripe retries it. Update your card in the billing portal.",
                    "unpaid" => "The subscription is unpaid: the free plan's models and limits apply until the open invoice is paid.",
                    _ => null,
                },
            };
        }, cancellationToken);
        if (subscription.Status == "unpaid" && item is not null)
        {
            await planChanges.RestrictAsync(userId, subscription.Id, Utc(item.CurrentPeriodStart), cancellationToken);
        }
        else if (ended)
        {
            await planChanges.EndSubscriptionAsync(userId, subscription.Id, cancellationToken);
        }
        return null;
    }

    private async Task<string?> InvoicePaidAsync(Invoice invoice, CancellationToken cancellationToken)
    {
        var details = invoice.Parent?.SubscriptionDetails;
        var line = invoice.Lines?.Data?.FirstOrDefault(l => catalog.PlanOfPrice(l.Pricing?.PriceDetails?.PriceId) is not null);
        var subscriptionId = details?.SubscriptionId ?? line?.Parent?.SubscriptionItemDetails?.Subscription;
        if (subscriptionId is null || line?.Period is null)
        {
            return "not an invoice of a plan's subscription";
        }
        var plan = catalog.PlanOfPrice(line.Pricing.PriceDetails.PriceId)!;
        if (await UserOfAsync(details?.Metadata?.GetValueOrDefault("uid"), invoice.CustomerId, cancellationToken) is not { } userId)
        {
            return UnknownCustomer(invoice.CustomerId);
        }
        var (start, end) = (Utc(line.Period.Start), Utc(line.Period.End));
        var allocation = planChanges.AllocationUnits(plan.Plan);
        var paid = await stripe.V1.Invoices.GetAsync(invoice.Id, new InvoiceGetOptions { Expand = ["payments"] }, cancellationToken: cancellationToken);
        foreach (var intentId in paid.Payments?.Data?.Select(p => p.Payment?.PaymentIntentId).OfType<string>() ?? [])
        {
            await store.RecordPaymentAsync(intentId, new StripePayment(userId, PlanChanges.EntryId(invoice.Id), "plan", allocation, invoice.AmountPaid,
                "subscription", time.GetUtcNow()), cancellationToken);
        }
        await planChanges.StartPaidPeriodAsync(userId, plan.Plan, subscriptionId, start, end, invoice.Id, cancellationToken);
        await store.UpdateAccountAsync(userId, account => account with
        {
            CustomerId = account.CustomerId ?? invoice.CustomerId,
            SubscriptionId = account.SubscriptionId ?? subscriptionId,
            PaymentProblem = account.SubscriptionId == subscriptionId || account.SubscriptionId is null ? null : account.PaymentProblem,
        }, cancellationToken);
        return null;
    }

    private async Task<string?> InvoiceFailedAsync(Invoice invoice, CancellationToken cancellationToken)
    {
        if (await UserOfAsync(invoice.Parent?.SubscriptionDetails?.Metadata?.GetValueOrDefault("uid"), invoice.CustomerId, cancellationToken) is not { } userId)
        {
            return UnknownCustomer(invoice.CustomerId);
        }
        await store.UpdateAccountAsync(userId, account => account with
        {
            PaymentProblem = $"The payment of invoice {invoice.Id} failed; Stripe will retry it. Update your card in the billing portal.",
        }, cancellationToken);
        audit.Record(BillingAuditEvents.PaymentFailed, null, userId: userId, reason: "invoice_payment_failed",
            details: new Dictionary<string, string> { ["stripe_id"] = invoice.Id });
        return null;
    }

    private async Task<string?> IntentSucceededAsync(PaymentIntent intent, CancellationToken cancellationToken)
    {
        if (intent.Metadata?.GetValueOrDefault("kind") != AutoTopup.Kind)
        {
            return "not an auto top-up (checkout and invoices grant on their own events)";
        }
        if (await UserOfAsync(intent.Metadata.GetValueOrDefault("uid"), intent.CustomerId, cancellationToken) is not { } userId)
        {
            return UnknownCustomer(intent.CustomerId);
        }
        if (catalog.TierNamed(intent.Metadata.GetValueOrDefault("tier")) is not { } tier)
        {
            return "an auto top-up without a known tier";
        }
        var grantId = PlanChanges.EntryId(intent.Id);
        await store.RecordPaymentAsync(intent.Id, new StripePayment(userId, grantId, "topup", tier.Units, intent.Amount, AutoTopup.Kind, time.GetUtcNow()),
            cancellationToken);
        var granted = await credits.GrantAsync(userId, CreditBucket.Topup, tier.Units, grantId, $"Stripe auto top-up {intent.Id}: {tier.Name}",
            LedgerEntryTypes.Topup, cancellationToken);
        reports.Forget(userId);
        if (!granted.Duplicate)
        {
            AuditGrant(userId, intent.Id, tier.Units, AutoTopup.Kind);
        }
        await autoTopup.RecordSucceededAsync(userId, intent.Id, intent.Metadata.GetValueOrDefault("attempt_key"), cancellationToken);
        return null;
    }

    private async Task<string?> IntentFailedAsync(PaymentIntent intent, CancellationToken cancellationToken)
    {
        if (intent.Metadata?.GetValueOrDefault("kind") != AutoTopup.Kind)
        {
            return "not an auto top-up";
        }
        if (await UserOfAsync(intent.Metadata.GetValueOrDefault("uid"), intent.CustomerId, cancellationToken) is not { } userId)
        {
            return UnknownCustomer(intent.CustomerId);
        }
        await autoTopup.RecordFailureAsync(userId, intent.Id, intent.Metadata.GetValueOrDefault("attempt_key"),
            intent.LastPaymentError?.Code, intent.LastPaymentError?.DeclineCode, cancellationToken);
        return null;
    }

    private async Task<string?> ChargeRefundedAsync(Charge charge, CancellationToken cancellationToken)
    {
        if (charge.PaymentIntentId is not { } intentId || await store.GetPaymentAsync(intentId, cancellationToken) is not { } payment)
        {
            return "a refund of a payment that granted no credits";
        }
        if (payment.AmountCents <= 0)
        {
            return "a refund of a free payment";
        }
        var refunds = await stripe.V1.Refunds.ListAsync(new RefundListOptions { Charge = charge.Id, Limit = 100 }, cancellationToken: cancellationToken);
        var bucket = payment.Bucket == "plan" ? CreditBucket.Plan : CreditBucket.Topup;
        foreach (var refund in refunds.Data.Where(r => r.Status == "succeeded"))
        {
            // In proportion to the payment: a refund of a quarter of the price takes back a quarter of what it granted.
            var units = (long)((Int128)payment.Units * Math.Min(refund.Amount, payment.AmountCents) / payment.AmountCents);
            if (units <= 0)
            {
                continue;
            }
            var taken = await credits.ClawbackAsync(payment.UserId, PlanChanges.EntryId(refund.Id), units, bucket,
                $"Stripe refund {refund.Id} of {refund.Amount} cents of payment {intentId} ({payment.Kind})", refund.Id, cancellationToken);
            reports.Forget(payment.UserId);
            if (!taken.Duplicate)
            {
                audit.Record(BillingAuditEvents.CreditsReversed, null, userId: payment.UserId, reason: "refund", details: new Dictionary<string, string>
                {
                    ["stripe_id"] = refund.Id,
                    ["payment_intent"] = intentId,
                    ["credits"] = CreditUnits.ToCredits(taken.TakenUnits).ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["shortfall_credits"] = CreditUnits.ToCredits(taken.ShortfallUnits).ToString(System.Globalization.CultureInfo.InvariantCulture),
                });
            }
        }
        return null;
    }

    /// <summary>
    /// The user a Stripe object belongs to: the uid billing put on it (metadata, client_reference_id), else the customer's
    /// link, else the uid on the customer itself (a customer whose link was never written: a crash after Stripe made it).
    /// </summary>
    private async Task<string?> UserOfAsync(string? statedUser, string? customerId, CancellationToken cancellationToken)
    {
        if (DocumentIds.IsValid(statedUser))
        {
            return statedUser;
        }
        if (customerId is null)
        {
            return null;
        }
        if (await store.UserOfCustomerAsync(customerId, cancellationToken) is { } linked)
        {
            return linked;
        }
        try
        {
            var customer = await stripe.V1.Customers.GetAsync(customerId, cancellationToken: cancellationToken);
            if (customer.Metadata?.GetValueOrDefault("uid") is { } userId && DocumentIds.IsValid(userId))
            {
                await store.LinkCustomerAsync(userId, customerId, cancellationToken);
                return userId;
            }
        }
        catch (StripeException exception) when (exception.HttpStatusCode == HttpStatusCode.NotFound)
        {
        }
        return null;
    }

    private string UnknownCustomer(string? customerId)
    {
        logger.LogWarning("A Stripe event for customer {CustomerId} names no user billing knows; ignored", customerId);
        return "unknown customer";
    }

    private void AuditGrant(string userId, string stripeId, long units, string reason) =>
        audit.Record(BillingAuditEvents.CreditsGranted, null, userId: userId, reason: reason, details: new Dictionary<string, string>
        {
            ["stripe_id"] = stripeId,
            ["credits"] = CreditUnits.ToCredits(units).ToString(System.Globalization.CultureInfo.InvariantCulture),
        });

    internal static CardOnFile? CardOf(PaymentMethod? method) =>
        method?.Card is { } card ? new CardOnFile(method.Id, card.Brand, card.Last4) : null;

    internal static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));
}
