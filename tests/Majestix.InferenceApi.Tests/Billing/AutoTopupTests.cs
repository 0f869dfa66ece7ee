using System.Net;
using System.Net.Http.Json;
using Majestix.InferenceApi.Billing;
using Majestix.InferenceApi.Credits;
using Majestix.InferenceApi.Tests.Credits;
using Majestix.Testing;

namespace Majestix.InferenceApi.Tests.Billing;

[Collection(PlatformCollection.Name)]
public sealed class AutoTopupTests(PlatformFixture platform)
{
    private static long Units(long credits) => BillingTestApp.Units(credits);

    // Every attempt is driven by the test: no cached settings, a lock that expires between attempts.
    private static Dictionary<string, string?> Quick(int cooldownSeconds = 14_400) => new()
    {
        ["Billing:AutoTopupLockSeconds"] = "1",
        ["Billing:AutoTopupSettingsCacheSeconds"] = "0",
        ["Billing:AutoTopupCooldownSeconds"] = cooldownSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    [Fact]
    public async Task TwentyConcurrentSettlesCrossingTheThresholdMakeExactlyOnePaymentIntent()
    {
        await using var billing = await BillingTestApp.StartAsync(platform);
        await EnableAsync(billing, "zed", threshold: 5_000);
        (await billing.BalanceAsync("zed")).TotalUnits.ShouldBe(Units(5_500), "500 free plus the 5,000 top-up that saved the card");

        await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(() => billing.SpendAsync("zed", 50))));
        (await Eventually.HoldsAsync(async () => (await billing.Stripe.AutoTopupIntentsAsync()).Count >= 1, TimeSpan.FromSeconds(20))).ShouldBeTrue();
        await Task.Delay(TimeSpan.FromSeconds(2));
        var intents = await billing.Stripe.AutoTopupIntentsAsync();
        intents.ShouldHaveSingleItem();
        (await billing.BalanceAsync("zed")).TotalUnits.ShouldBe(Units(4_500), "credits arrive only with payment_intent.succeeded");

        (await billing.DeliverNewEventsAsync(times: 4)).Select(e => e.Type).ShouldContain("payment_intent.succeeded");
        (await billing.BalanceAsync("zed")).TotalUnits.ShouldBe(Units(9_500));
        (await billing.LedgerAsync("zed")).Count(e => e.Type == LedgerEntryTypes.Topup).ShouldBe(2);
        var outcome = (await billing.BillingAsync("zed")).GetProperty("auto_topup").GetProperty("last_outcome");
        outcome.GetProperty("status").GetString().ShouldBe("succeeded");
        outcome.GetProperty("payment_intent_id").GetString().ShouldBe(intents[0]);
    }

    [Fact]
    public async Task TheFourthAutoTopupInAUtcDayIsRefused()
    {
        await using var billing = await BillingTestApp.StartAsync(platform, settings: Quick());
        await EnableAsync(billing, "day", threshold: 1_000_000, monthlyLimitUsd: 1_000);
        var autoTopup = billing.Service<AutoTopup>();
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            (await autoTopup.TryTopUpAsync("day", CancellationToken.None)).ShouldBe(AutoTopupResult.Charged, $"attempt {attempt}");
            await billing.DeliverNewEventsAsync();
            await Task.Delay(TimeSpan.FromMilliseconds(1_100));
        }
        (await autoTopup.TryTopUpAsync("day", CancellationToken.None)).ShouldBe(AutoTopupResult.DailyLimit);
        await billing.App.Redis.KeyDeleteAsync(AutoTopup.DailyKey("day"));
        (await autoTopup.TryTopUpAsync("day", CancellationToken.None)).ShouldBe(AutoTopupResult.Refused,
            "with Redis's count gone, the day's attempts in Firestore still refuse");
        (await billing.Stripe.AutoTopupIntentsAsync()).Count.ShouldBe(3);
        (await billing.BalanceAsync("day")).TopupUnits.ShouldBe(Units(20_000));
    }

    [Fact]
    public async Task ADeclinedChargeStartsAFourHourCooldownAndCountsOnce()
    {
        await using var billing = await BillingTestApp.StartAsync(platform, settings: Quick());
        await EnableAsync(billing, "dee", threshold: 1_000_000, card: "pm_card_chargeDeclined");
        var autoTopup = billing.Service<AutoTopup>();
        (await autoTopup.TryTopUpAsync("dee", CancellationToken.None)).ShouldBe(AutoTopupResult.Failed);
        var cooldown = await billing.App.Redis.KeyTimeToLiveAsync(AutoTopup.CooldownKey("dee"));
        cooldown.ShouldNotBeNull().TotalHours.ShouldBeInRange(3.9, 4.0);
        await Task.Delay(TimeSpan.FromMilliseconds(1_100));
        (await autoTopup.TryTopUpAsync("dee", CancellationToken.None)).ShouldBe(AutoTopupResult.CoolingDown);

        (await billing.DeliverNewEventsAsync(times: 4)).Select(e => e.Type).ShouldContain("payment_intent.payment_failed");
        var state = (await billing.AccountAsync("dee"))!.AutoTopupState!;
        state.ConsecutiveDeclines.ShouldBe(1, "the 402 and four deliveries of its event are one decline");
        state.MonthSpentCents.ShouldBe(0, "a declined charge gives its reservation back");
        var shown = (await billing.BillingAsync("dee")).GetProperty("auto_topup");
        shown.GetProperty("last_outcome").GetProperty("status").GetString().ShouldBe("declined");
        shown.GetProperty("enabled").GetBoolean().ShouldBeTrue();
        (await billing.BalanceAsync("dee")).TopupUnits.ShouldBe(Units(5_000), "nothing granted");
    }

    [Fact]
    public async Task ThreeDeclinesInARowTurnAutoTopupOff()
    {
        await using var billing = await BillingTestApp.StartAsync(platform, settings: Quick(cooldownSeconds: 1));
        await EnableAsync(billing, "tri", threshold: 1_000_000, card: "pm_card_chargeDeclined");
        var autoTopup = billing.Service<AutoTopup>();
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            (await autoTopup.TryTopUpAsync("tri", CancellationToken.None)).ShouldBe(AutoTopupResult.Failed, $"attempt {attempt}");
            await Task.Delay(TimeSpan.FromMilliseconds(1_200));
        }
        (await autoTopup.TryTopUpAsync("tri", CancellationToken.None)).ShouldBe(AutoTopupResult.NotEnabled);
        var shown = (await billing.BillingAsync("tri")).GetProperty("auto_topup");
        shown.GetProperty("enabled").GetBoolean().ShouldBeFalse();
        shown.GetProperty("paused_reason").GetString().ShouldNotBeNull().ShouldContain("3 declined");
        (await billing.Stripe.AutoTopupIntentsAsync()).Count.ShouldBe(3);
    }

    [Fact]
    public async Task AuthenticationRequiredPausesAutoTopupWithAReasonAndIsNeverRetriedOffSession()
    {
        await using var billing = await BillingTestApp.StartAsync(platform, settings: Quick());
        await EnableAsync(billing, "ana", threshold: 1_000_000, card: "pm_card_authenticationRequired");
        var autoTopup = billing.Service<AutoTopup>();
        (await autoTopup.TryTopUpAsync("ana", CancellationToken.None)).ShouldBe(AutoTopupResult.Failed);
        (await billing.App.Redis.KeyExistsAsync(AutoTopup.CooldownKey("ana"))).ShouldBeFalse("paused, not cooling down");
        await Task.Delay(TimeSpan.FromMilliseconds(1_100));
        (await autoTopup.TryTopUpAsync("ana", CancellationToken.None)).ShouldBe(AutoTopupResult.NotEnabled);
        await billing.DeliverNewEventsAsync(times: 2);

        var shown = (await billing.BillingAsync("ana")).GetProperty("auto_topup");
        shown.GetProperty("paused_reason").GetString().ShouldNotBeNull().ShouldContain("authenticate");
        shown.GetProperty("last_outcome").GetProperty("status").GetString().ShouldBe("authentication_required");
        (await billing.Stripe.AutoTopupIntentsAsync()).Count.ShouldBe(1);

        using var client = billing.WebClient("ana");
        using var resumed = await client.PutAsJsonAsync("/billing/auto-topup", new { enabled = true, threshold_credits = 1_000_000, tier = "small", monthly_limit_usd = 100 });
        resumed.StatusCode.ShouldBe(HttpStatusCode.OK);
        var resumedView = (await resumed.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("auto_topup");
        resumedView.GetProperty("paused_reason").ValueKind.ShouldBe(System.Text.Json.JsonValueKind.Null, "turning it on again is the user's answer");
    }

    [Fact]
    public async Task RedisFlushedBetweenTheTriggerAndTheWebhookStillMakesOneChargeAndOneGrant()
    {
        await using var billing = await BillingTestApp.StartAsync(platform, settings: Quick());
        await EnableAsync(billing, "flo", threshold: 1_000_000);
        var autoTopup = billing.Service<AutoTopup>();
        (await autoTopup.TryTopUpAsync("flo", CancellationToken.None)).ShouldBe(AutoTopupResult.Charged);

        await billing.Host.DropRedisDataAsync(billing.App.Isolation.KeyPrefix);
        await Task.Delay(TimeSpan.FromMilliseconds(1_100));
        (await autoTopup.TryTopUpAsync("flo", CancellationToken.None)).ShouldBe(AutoTopupResult.Refused, "its credits are on the way: no second charge");
        await billing.SpendAsync("flo", 100);
        await Task.Delay(TimeSpan.FromSeconds(1));

        await billing.DeliverNewEventsAsync(times: 3);
        (await billing.Stripe.AutoTopupIntentsAsync()).ShouldHaveSingleItem();
        (await billing.BalanceAsync("flo")).TotalUnits.ShouldBe(Units(500 + 5_000 + 5_000 - 100));
        (await billing.LedgerAsync("flo")).Count(e => e.Type == LedgerEntryTypes.Topup).ShouldBe(2);
    }

    [Fact]
    public async Task TheMonthlyLimitHoldsWhenTwoInstancesChargeAtOnce()
    {
        var stripe = await platform.Stripe.NewAccountAsync();
        var first = Isolation.New();
        // One deployment's Firestore, two Redis prefixes: the Redis lock cannot stop them, the Firestore reservation must.
        var second = first with { KeyPrefix = TestIsolation.NewKeyPrefix("api") };
        await using var a = await BillingTestApp.StartAsync(platform, first, stripe, Quick());
        await using var b = await BillingTestApp.StartAsync(platform, second, stripe, Quick());
        await EnableAsync(a, "max", threshold: 1_000_000, monthlyLimitUsd: 5);

        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(i =>
            Task.Run(() => (i % 2 == 0 ? a : b).Service<AutoTopup>().TryTopUpAsync("max", CancellationToken.None))));
        // The instance that lost the race may find the winner's charge pending and ask Stripe again under its key: same payment.
        (await stripe.AutoTopupIntentsAsync()).ShouldHaveSingleItem(string.Join(", ", results));
        (await a.BillingAsync("max")).GetProperty("auto_topup").GetProperty("spent_this_month_usd").GetDecimal().ShouldBe(5m);

        await a.DeliverNewEventsAsync();
        await Task.Delay(TimeSpan.FromMilliseconds(1_100));
        (await b.Service<AutoTopup>().TryTopUpAsync("max", CancellationToken.None)).ShouldBe(AutoTopupResult.Refused, "a second $5 would pass the $5 limit");
        var shown = (await b.BillingAsync("max")).GetProperty("auto_topup");
        shown.GetProperty("last_outcome").GetProperty("status").GetString().ShouldBe("monthly_limit");
        (await stripe.AutoTopupIntentsAsync()).ShouldHaveSingleItem();
        (await a.BalanceAsync("max")).TopupUnits.ShouldBe(Units(10_000), "the one auto top-up, granted once");
    }

    /// <summary>Buys a top-up (which saves the card), optionally swaps the card for a Stripe test token, and turns auto top-up on.</summary>
    private static async Task EnableAsync(BillingTestApp billing, string userId, long threshold, long monthlyLimitUsd = 100, string? card = null)
    {
        await billing.BuyTopupAsync(userId, "small");
        await billing.DeliverNewEventsAsync();
        if (card is not null)
        {
            // A card of Stripe's test tokens, attached to the user's customer as a saved card is.
            var customer = (await billing.AccountAsync(userId))!.CustomerId!;
            var method = await billing.Stripe.Client.V1.PaymentMethods.AttachAsync(card, new Stripe.PaymentMethodAttachOptions { Customer = customer });
            await billing.Service<BillingStore>().UpdateAccountAsync(userId, account => account with { Card = new CardOnFile(method.Id, "visa", method.Card.Last4) },
                CancellationToken.None);
        }
        using var client = billing.WebClient(userId);
        using var response = await client.PutAsJsonAsync("/billing/auto-topup",
            new { enabled = true, threshold_credits = threshold, tier = "small", monthly_limit_usd = monthlyLimitUsd });
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }
}
