using System.Net;
using System.Net.Http.Json;
using Majestix.InferenceApi.Credits;
using Majestix.InferenceApi.Tests.Credits;
using Microsoft.Extensions.Time.Testing;

namespace Majestix.InferenceApi.Tests.Billing;

[Collection(PlatformCollection.Name)]
public sealed class PlanCycleTests(PlatformFixture platform)
{
    private static long Units(long credits) => BillingTestApp.Units(credits);

    [Fact]
    public async Task ARenewalResetsThePlanBucketForTheNewPeriodAndLeavesTopupsAlone()
    {
        await using var billing = await BillingTestApp.StartAsync(platform);
        var subscription = await billing.SubscribeAsync("rita", "guru");
        await billing.BuyTopupAsync("rita", "small");
        await billing.DeliverNewEventsAsync();
        await billing.SpendAsync("rita", 9_500);
        var spent = await billing.BalanceAsync("rita");
        (spent.PlanUnits, spent.TopupUnits).ShouldBe((Units(500), Units(5_000)), "the plan bucket is spent first");

        await billing.Stripe.AdvanceAsync(subscription);
        (await billing.DeliverNewEventsAsync(times: 4)).Select(e => e.Type).ShouldContain("invoice.paid");

        var renewed = await billing.BalanceAsync("rita");
        (renewed.PlanUnits, renewed.TopupUnits).ShouldBe((Units(10_000), Units(5_000)), "a full allocation for the new period, top-ups as they were");
        renewed.CycleStart.ShouldBe(spent.CycleEnd, "the new period starts where the paid one ended");
        var plans = (await billing.LedgerAsync("rita")).Where(e => e.Type == LedgerEntryTypes.Plan).ToList();
        plans.Count.ShouldBe(2, "the first invoice and the renewal, each once");
    }

    [Fact]
    public async Task APaidPeriodIsNotRefilledPastItsEndUntilTheRenewalIsPaid()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var billing = await BillingTestApp.StartAsync(platform, clock: clock);
        var subscription = await billing.SubscribeAsync("hal", "guru");
        await billing.DeliverNewEventsAsync();
        await billing.SpendAsync("hal", 9_000);
        var paid = await billing.BalanceAsync("hal");

        // Past the period's end, the renewal declined and Stripe retrying: the plan bucket is what is left of the paid period.
        var customer = (await billing.AccountAsync("hal"))!.CustomerId!;
        await billing.Stripe.SetCardAsync(customer, "4000000000000002");
        await billing.Stripe.AdvanceAsync(subscription);
        clock.SetUtcNow(paid.CycleEnd.AddDays(2));
        await billing.DeliverNewEventsAsync();
        var retrying = await billing.BalanceAsync("hal");
        (retrying.PlanUnits, retrying.CycleStart).ShouldBe((Units(1_000), paid.CycleStart), "no new allocation before the renewal is paid");
        (await billing.Host.Credits().RefreshAsync("hal")).PlanUnits.ShouldBe(Units(1_000), "nor from a rebuild out of the ledger");
        (await billing.Host.Credits().ReserveAsync("hal", Units(2_000))).Status.ShouldBe(ReserveStatus.Insufficient);

        await billing.Stripe.SetCardAsync(customer, "4242424242424242");
        await billing.Stripe.PayLatestInvoiceAsync(subscription);
        await billing.DeliverNewEventsAsync();
        var renewed = await billing.BalanceAsync("hal");
        (renewed.PlanUnits, renewed.CycleStart).ShouldBe((Units(10_000), paid.CycleEnd), "the paid renewal starts the next period");
    }

    [Fact]
    public async Task AnUnpaidSubscriptionRestrictsTheUserToFreeUntilTheInvoiceIsPaid()
    {
        await using var billing = await BillingTestApp.StartAsync(platform);
        var subscription = await billing.SubscribeAsync("una", "pro");
        await billing.DeliverNewEventsAsync();
        var (_, apiKey) = await billing.App.SeedKeyAsync("una");
        using var key = billing.App.KeyClient(apiKey);
        (await CodeAsync(key, "claude-sonnet")).ShouldBe(HttpStatusCode.OK);

        var customer = (await billing.AccountAsync("una"))!.CustomerId!;
        await billing.Stripe.SetCardAsync(customer, "4000000000000002");
        await billing.Stripe.AdvanceAsync(subscription, exhaustRetries: true);
        await billing.DeliverNewEventsAsync(times: 2);

        (await billing.UsageAsync("una")).GetProperty("plan").GetString().ShouldBe("free");
        (await CodeAsync(key, "claude-sonnet")).ShouldBe(HttpStatusCode.Forbidden, "the cached key lost the paid models at once");
        var shown = await billing.BillingAsync("una");
        shown.GetProperty("subscription").GetProperty("status").GetString().ShouldBe("unpaid");
        shown.GetProperty("payment_problem").GetString().ShouldNotBeNull().ShouldContain("unpaid");

        await billing.Stripe.SetCardAsync(customer, "4242424242424242");
        await billing.Stripe.PayLatestInvoiceAsync(subscription);
        await billing.DeliverNewEventsAsync(times: 2);
        var usage = await billing.UsageAsync("una");
        usage.GetProperty("plan").GetString().ShouldBe("pro");
        usage.GetProperty("plan_credits_remaining").GetDecimal().ShouldBe(55_000m);
        (await CodeAsync(key, "claude-sonnet")).ShouldBe(HttpStatusCode.OK);
    }

    private static async Task<HttpStatusCode> CodeAsync(HttpClient client, string model)
    {
        using var response = await client.PostAsJsonAsync("/code", new { model, stream = false, max_tokens = 16, messages = new[] { new { role = "user", content = "hi" } } });
        return response.StatusCode;
    }
}
