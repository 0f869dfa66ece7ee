using System.Net;
using Majestix.InferenceApi.Credits;
using Majestix.InferenceApi.Tests.Credits;
using Stripe;

namespace Majestix.InferenceApi.Tests.Billing;

/// <summary>The 11 webhook events, each delivered once and then three more times; copies to two instances at once; reordering.</summary>
[Collection(PlatformCollection.Name)]
public sealed class StripeEventTests(PlatformFixture platform)
{
    private static long Units(long credits) => BillingTestApp.Units(credits);

    [Fact]
    public async Task ACheckoutTopupGrantsItsCreditsOnceHoweverOftenItsEventsArrive()
    {
        await using var billing = await BillingTestApp.StartAsync(platform);
        var session = await billing.BuyTopupAsync("tina", "medium");
        var events = await billing.DeliverNewEventsAsync(times: 4);
        events.Select(e => e.Type).ShouldContain("checkout.session.completed");
        events.Select(e => e.Type).ShouldContain("payment_intent.succeeded", "checkout's own intent: billing ignores it, the session grants");

        (await billing.BalanceAsync("tina")).TopupUnits.ShouldBe(Units(27_500));
        var entry = (await billing.LedgerAsync("tina")).ShouldHaveSingleItem();
        (entry.Type, entry.TopupDelta).ShouldBe((LedgerEntryTypes.Topup, Units(27_500)));
        entry.Reason.ShouldNotBeNull().ShouldContain(session);
        var shown = await billing.BillingAsync("tina");
        shown.GetProperty("card").GetProperty("last4").GetString().ShouldBe("4242", "the top-up's card is saved for auto top-up");
        var usage = await billing.UsageAsync("tina");
        usage.GetProperty("topup_balance").GetDecimal().ShouldBe(27_500m);
    }

    [Fact]
    public async Task AnAsynchronousTopupGrantsOnlyWhenItSettlesAndNothingWhenItFails()
    {
        await using var billing = await BillingTestApp.StartAsync(platform);
        var settled = await billing.BuyTopupAsync("ada", "small", settlesLater: true);
        await billing.DeliverNewEventsAsync(times: 4);
        (await billing.BalanceAsync("ada")).TopupUnits.ShouldBe(0, "checkout.session.completed with payment_status unpaid grants nothing");

        await billing.Stripe.SettleAsyncPaymentAsync(await UrlOf(billing, settled), "succeeded");
        (await billing.DeliverNewEventsAsync(times: 4)).Select(e => e.Type).ShouldContain("checkout.session.async_payment_succeeded");
        (await billing.BalanceAsync("ada")).TopupUnits.ShouldBe(Units(5_000));

        var failed = await billing.BuyTopupAsync("ada", "large", settlesLater: true);
        await billing.Stripe.SettleAsyncPaymentAsync(await UrlOf(billing, failed), "failed");
        (await billing.DeliverNewEventsAsync(times: 4)).Select(e => e.Type).ShouldContain("checkout.session.async_payment_failed");
        (await billing.BalanceAsync("ada")).TopupUnits.ShouldBe(Units(5_000), "the failed payment added nothing");
        (await billing.LedgerAsync("ada")).Count.ShouldBe(1);
        (await billing.BillingAsync("ada")).GetProperty("payment_problem").GetString().ShouldNotBeNull().ShouldContain("did not go through");
    }

    [Fact]
    public async Task ASubscriptionStartsItsPlanOnceAndUsageAndModelsShowItAtOnce()
    {
        await using var billing = await BillingTestApp.StartAsync(platform);
        (await billing.UsageAsync("gus")).GetProperty("plan").GetString().ShouldBe("free");
        var subscription = await billing.SubscribeAsync("gus", "guru");
        var events = await billing.DeliverNewEventsAsync(times: 4);
        events.Select(e => e.Type).ShouldBe(["customer.subscription.created", "payment_intent.succeeded", "charge.succeeded", "invoice.paid", "checkout.session.completed"]);

        var usage = await billing.UsageAsync("gus");
        usage.GetProperty("plan").GetString().ShouldBe("guru", "no refresh call: the webhook invalidated the caches");
        usage.GetProperty("plan_allocation").GetDecimal().ShouldBe(10_000m);
        usage.GetProperty("plan_credits_remaining").GetDecimal().ShouldBe(10_000m);
        usage.GetProperty("topup_balance").GetDecimal().ShouldBe(0m);
        var models = await billing.GetJsonAsync("gus", "/models");
        models.ToString().ShouldContain("claude-sonnet");
        var plans = (await billing.LedgerAsync("gus")).Where(e => e.Type == LedgerEntryTypes.Plan).ToList();
        plans.ShouldHaveSingleItem("invoice.paid four times: one plan entry").StripeId.ShouldNotBeNull().ShouldStartWith("in_");
        var shown = await billing.BillingAsync("gus");
        shown.GetProperty("plan").GetString().ShouldBe("guru");
        shown.GetProperty("subscription").GetProperty("id").GetString().ShouldBe(subscription);
        shown.GetProperty("subscription").GetProperty("status").GetString().ShouldBe("active");
    }

    [Fact]
    public async Task ASwitchInThePortalMovesThePlanWhenItsInvoiceIsPaid()
    {
        await using var billing = await BillingTestApp.StartAsync(platform);
        await billing.SubscribeAsync("sam", "guru");
        await billing.DeliverNewEventsAsync();
        await billing.Stripe.PortalAsync(await billing.PortalUrlAsync("sam"), "switch", new { price = billing.Stripe.ProPriceId });
        (await billing.DeliverNewEventsAsync(times: 4)).Select(e => e.Type).ShouldContain("customer.subscription.updated");

        var usage = await billing.UsageAsync("sam");
        usage.GetProperty("plan").GetString().ShouldBe("pro");
        usage.GetProperty("plan_credits_remaining").GetDecimal().ShouldBe(55_000m);
        (await billing.BillingAsync("sam")).GetProperty("subscription").GetProperty("plan").GetString().ShouldBe("pro");
    }

    [Fact]
    public async Task ACancelledSubscriptionReturnsTheUserToFreeAndKeepsTheirTopups()
    {
        await using var billing = await BillingTestApp.StartAsync(platform);
        await billing.BuyTopupAsync("cat", "small");
        await billing.SubscribeAsync("cat", "pro");
        await billing.DeliverNewEventsAsync();
        (await billing.UsageAsync("cat")).GetProperty("plan").GetString().ShouldBe("pro");

        await billing.Stripe.PortalAsync(await billing.PortalUrlAsync("cat"), "cancel");
        (await billing.DeliverNewEventsAsync(times: 4)).Select(e => e.Type).ShouldContain("customer.subscription.deleted");

        var usage = await billing.UsageAsync("cat");
        usage.GetProperty("plan").GetString().ShouldBe("free");
        usage.GetProperty("plan_allocation").GetDecimal().ShouldBe(500m);
        usage.GetProperty("topup_balance").GetDecimal().ShouldBe(5_000m, "purchased top-ups outlive the subscription");
        (await billing.BillingAsync("cat")).GetProperty("subscription").GetProperty("status").GetString().ShouldBe("canceled");
        (await billing.LedgerAsync("cat")).Count(e => e.Type == LedgerEntryTypes.Plan).ShouldBe(2, "the start and the end, each once");
    }

    [Fact]
    public async Task AFailedRenewalFlagsTheAccountKeepsThePlanAndGrantsNothing()
    {
        await using var billing = await BillingTestApp.StartAsync(platform);
        var subscription = await billing.SubscribeAsync("pat", "guru");
        await billing.DeliverNewEventsAsync();
        await billing.SpendAsync("pat", 1_000);
        var customer = (await billing.AccountAsync("pat"))!.CustomerId!;
        await billing.Stripe.SetCardAsync(customer, "4000000000000002");
        await billing.Stripe.AdvanceAsync(subscription);
        var types = (await billing.DeliverNewEventsAsync(times: 4)).Select(e => e.Type).ToList();
        types.ShouldContain("invoice.payment_failed");

        var usage = await billing.UsageAsync("pat");
        usage.GetProperty("plan").GetString().ShouldBe("guru", "past_due keeps the plan through Stripe's retries");
        usage.GetProperty("plan_credits_remaining").GetDecimal().ShouldBe(9_000m, "no new period without a paid invoice");
        var shown = await billing.BillingAsync("pat");
        shown.GetProperty("subscription").GetProperty("status").GetString().ShouldBe("past_due");
        shown.GetProperty("payment_problem").GetString().ShouldNotBeNull().ShouldContain("failed");
    }

    [Fact]
    public async Task TwoInstancesReceivingTheSameEventAtOnceGrantOnce()
    {
        var isolation = Isolation.New();
        var stripe = await platform.Stripe.NewAccountAsync();
        await using var first = await BillingTestApp.StartAsync(platform, isolation, stripe);
        await using var second = await BillingTestApp.StartAsync(platform, isolation, stripe);
        await first.BuyTopupAsync("twin", "large");
        var completed = (await stripe.NewEventsAsync()).Single(e => e.Type == "checkout.session.completed");

        var deliveries = Enumerable.Range(0, 10).Select(async i =>
        {
            using var response = await first.DeliverAsync(completed.Json, to: i % 2 == 0 ? first.Host : second.Host);
            return response.StatusCode;
        });
        (await Task.WhenAll(deliveries)).ShouldAllBe(status => status == HttpStatusCode.OK);

        (await first.BalanceAsync("twin")).TopupUnits.ShouldBe(Units(125_000));
        (await second.BalanceAsync("twin")).TopupUnits.ShouldBe(Units(125_000));
        (await first.LedgerAsync("twin")).ShouldHaveSingleItem().TopupDelta.ShouldBe(Units(125_000));
    }

    [Fact]
    public async Task EventsDeliveredNewestFirstEndInTheSameState()
    {
        await using var billing = await BillingTestApp.StartAsync(platform);
        await billing.SubscribeAsync("rev", "guru");
        // checkout.session.completed first, invoice.paid before the subscription is known, updated before created.
        var events = await billing.DeliverNewEventsAsync(newestFirst: true);
        events[0].Type.ShouldBe("customer.subscription.created");

        var usage = await billing.UsageAsync("rev");
        usage.GetProperty("plan").GetString().ShouldBe("guru");
        usage.GetProperty("plan_credits_remaining").GetDecimal().ShouldBe(10_000m);
        (await billing.BillingAsync("rev")).GetProperty("subscription").GetProperty("status").GetString().ShouldBe("active");
        (await billing.LedgerAsync("rev")).Count(e => e.Type == LedgerEntryTypes.Plan).ShouldBe(1);
    }

    [Fact]
    public async Task AnOldInvoiceArrivingAfterTheRenewalDoesNotTakeThePeriodBack()
    {
        await using var billing = await BillingTestApp.StartAsync(platform);
        var subscription = await billing.SubscribeAsync("olga", "guru");
        var first = (await billing.Stripe.NewEventsAsync()).Where(e => e.Type == "invoice.paid").ToList();
        await billing.Stripe.AdvanceAsync(subscription);
        var renewal = (await billing.Stripe.NewEventsAsync()).Single(e => e.Type == "invoice.paid");
        (await billing.DeliverAsync(renewal.Json)).StatusCode.ShouldBe(HttpStatusCode.OK);
        var renewed = await billing.BalanceAsync("olga");
        await billing.SpendAsync("olga", 2_000);

        (await billing.DeliverAsync(first.Single().Json)).StatusCode.ShouldBe(HttpStatusCode.OK);
        var after = await billing.BalanceAsync("olga");
        after.CycleStart.ShouldBe(renewed.CycleStart, "the older period does not replace the newer one");
        after.PlanUnits.ShouldBe(Units(8_000), "nor does it reset the plan bucket");
    }

    [Fact]
    public async Task AnEventForACustomerBillingDoesNotKnowIsAcknowledgedAndChangesNothing()
    {
        await using var billing = await BillingTestApp.StartAsync(platform);
        // A customer someone made in the Dashboard: no uid anywhere.
        var stranger = await billing.Stripe.Client.V1.Customers.CreateAsync(new CustomerCreateOptions { Email = "stranger@example.com" });
        var session = await billing.Stripe.Client.V1.Checkout.Sessions.CreateAsync(new Stripe.Checkout.SessionCreateOptions
        {
            Mode = "payment",
            Customer = stranger.Id,
            LineItems = [new Stripe.Checkout.SessionLineItemOptions { Price = billing.Stripe.Settings()["STRIPE_TOPUP_5_PRICE_ID"], Quantity = 1 }],
            SuccessUrl = "https://example.com/ok",
            CancelUrl = "https://example.com/cancel",
        });
        (await billing.Stripe.PayCheckoutAsync(session.Url)).ShouldBe("complete");
        foreach (var stripeEvent in await billing.Stripe.NewEventsAsync())
        {
            using var response = await billing.DeliverAsync(stripeEvent.Json);
            response.StatusCode.ShouldBe(HttpStatusCode.OK, "retrying would not make the customer known");
            if (stripeEvent.Type == "checkout.session.completed")
            {
                (await response.Content.ReadAsStringAsync()).ShouldContain("unknown customer");
            }
        }
    }

    [Fact]
    public async Task FirestoreFailingMidEventAnswers5xxWithNothingAppliedAndTheRetryGrantsOnce()
    {
        var probe = new FirestoreProbe();
        await using var billing = await BillingTestApp.StartAsync(platform, probe: probe);
        await billing.BuyTopupAsync("fay", "small");
        var completed = (await billing.Stripe.NewEventsAsync()).Single(e => e.Type == "checkout.session.completed");

        probe.LedgerUnavailable = true;
        using (var failed = await billing.DeliverAsync(completed.Json))
        {
            ((int)failed.StatusCode).ShouldBeGreaterThanOrEqualTo(500, "Stripe retries a 5xx");
        }
        (await billing.BalanceAsync("fay")).TopupUnits.ShouldBe(0, "the customer link was written, the grant was not: nothing half-applied");
        probe.LedgerUnavailable = false;

        using (var retried = await billing.DeliverAsync(completed.Json))
        {
            retried.StatusCode.ShouldBe(HttpStatusCode.OK);
        }
        (await billing.DeliverAsync(completed.Json)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await billing.BalanceAsync("fay")).TopupUnits.ShouldBe(Units(5_000));
        (await billing.LedgerAsync("fay")).ShouldHaveSingleItem();
    }

    [Fact]
    public async Task EveryGrantPlanChangeAndReversalIsOneAuditEventNamingItsStripeObject()
    {
        await using var billing = await BillingTestApp.StartAsync(platform);
        await billing.App.CreateAuditSubscriptionAsync();
        var session = await billing.BuyTopupAsync("aud", "small");
        var subscription = await billing.SubscribeAsync("aud", "guru");
        await billing.DeliverNewEventsAsync(times: 3);
        var intent = (await billing.Stripe.Client.V1.Checkout.Sessions.GetAsync(session)).PaymentIntentId;
        var refund = await billing.Stripe.Client.V1.Refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = intent, Amount = 100 });
        await billing.Stripe.PortalAsync(await billing.PortalUrlAsync("aud"), "cancel");
        await billing.DeliverNewEventsAsync(times: 3);

        var audits = (await billing.App.PullAuditEventsAsync()).Where(e => e.GetProperty("user_id").GetString() == "aud")
            .Select(e => (Type: e.GetProperty("event_type").GetString(), Details: e.GetProperty("details").GetString() ?? "")).ToList();
        audits.Where(a => a.Type == "credits_granted").ShouldHaveSingleItem().Details.ShouldContain(session);
        audits.Where(a => a.Type == "credits_reversed").ShouldHaveSingleItem().Details.ShouldContain(refund.Id);
        var plans = audits.Where(a => a.Type == "plan_changed").ToList();
        plans.Count.ShouldBe(2, "to guru, then back to free: each once although delivered three times");
        plans[0].Details.ShouldContain("\"plan\":\"guru\"");
        plans[1].Details.ShouldContain(subscription);
        plans[1].Details.ShouldContain("\"plan\":\"free\"");
        (await billing.LedgerAsync("aud")).ShouldAllBe(e => e.StripeId != null || e.Type == LedgerEntryTypes.Topup);
    }

    private static async Task<string> UrlOf(BillingTestApp billing, string sessionId) =>
        (await billing.Stripe.Client.V1.Checkout.Sessions.GetAsync(sessionId)).Url;
}
