using Majestix.InferenceApi.Credits;
using Majestix.InferenceApi.Tests.Credits;
using Stripe;

namespace Majestix.InferenceApi.Tests.Billing;

[Collection(PlatformCollection.Name)]
public sealed class RefundTests(PlatformFixture platform)
{
    private static long Units(long credits) => BillingTestApp.Units(credits);

    [Fact]
    public async Task ARefundTakesBackCreditsInProportionOnceForEachRefund()
    {
        await using var billing = await BillingTestApp.StartAsync(platform);
        var session = await billing.BuyTopupAsync("rae", "medium");
        await billing.DeliverNewEventsAsync();
        var intent = (await billing.Stripe.Client.V1.Checkout.Sessions.GetAsync(session)).PaymentIntentId;

        await billing.Stripe.Client.V1.Refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = intent, Amount = 500 });
        (await billing.DeliverNewEventsAsync(times: 4)).Select(e => e.Type).ShouldContain("charge.refunded");
        (await billing.BalanceAsync("rae")).TopupUnits.ShouldBe(Units(27_500 - 5_500), "$5 of $25 is a fifth of 27,500 credits");

        await billing.Stripe.Client.V1.Refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = intent });
        await billing.DeliverNewEventsAsync(times: 4);
        (await billing.BalanceAsync("rae")).TopupUnits.ShouldBe(0);
        var refunds = (await billing.LedgerAsync("rae")).Where(e => e.Type == LedgerEntryTypes.Refund).ToList();
        refunds.Count.ShouldBe(2, "two refunds, each taken once although charge.refunded came eight times");
        refunds.Sum(e => -e.TopupDelta).ShouldBe(Units(27_500));
        refunds.ShouldAllBe(e => e.StripeId!.StartsWith("re_"));
        (await billing.Host.Credits().RefreshAsync("rae")).TopupUnits.ShouldBe(0, "the ledger agrees with Redis");
    }

    [Fact]
    public async Task ARefundOfCreditsAlreadySpentStopsAtZeroAndRecordsTheShortfall()
    {
        await using var billing = await BillingTestApp.StartAsync(platform);
        var session = await billing.BuyTopupAsync("sid", "small");
        await billing.DeliverNewEventsAsync();
        await billing.SpendAsync("sid", 5_000);
        (await billing.BalanceAsync("sid")).TotalUnits.ShouldBe(Units(500), "the free plan's 500 went first, then 4,500 of the top-up");

        var intent = (await billing.Stripe.Client.V1.Checkout.Sessions.GetAsync(session)).PaymentIntentId;
        await billing.Stripe.Client.V1.Refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = intent });
        await billing.DeliverNewEventsAsync(times: 2);

        var balance = await billing.BalanceAsync("sid");
        (balance.PlanUnits, balance.TopupUnits).ShouldBe((0L, 0L), "top-up first, then the plan bucket, never below zero");
        var refund = (await billing.LedgerAsync("sid")).Single(e => e.Type == LedgerEntryTypes.Refund);
        (refund.TopupDelta + refund.PlanDelta).ShouldBe(-Units(500));
        refund.ShortfallUnits.ShouldBe(Units(4_500), "what could not be taken back is on the ledger, not lost");
    }
}
