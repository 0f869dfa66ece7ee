using System.Net;
using System.Net.Http.Json;

namespace Majestix.InferenceApi.Tests.Billing;

[Collection(PlatformCollection.Name)]
public sealed class CheckoutTests(PlatformFixture platform)
{
    [Fact]
    public async Task ConcurrentFirstCheckoutsCreateOneStripeCustomer()
    {
        await using var billing = await BillingTestApp.StartAsync(platform);
        var urls = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            billing.CheckoutUrlAsync("nina", i % 2 == 0 ? "/billing/topup" : "/billing/checkout", i % 2 == 0 ? new { tier = "small" } : new { plan = "guru" })));
        var customers = await Task.WhenAll(urls.Select(async url =>
            (await billing.Stripe.Client.V1.Checkout.Sessions.GetAsync(BillingTestApp.SessionIdOf(url))).CustomerId));
        customers.Distinct().ShouldHaveSingleItem().ShouldStartWith("cus_");
        (await billing.AccountAsync("nina"))!.CustomerId.ShouldBe(customers[0]);
        var customer = await billing.Stripe.Client.V1.Customers.GetAsync(customers[0]);
        customer.Metadata["uid"].ShouldBe("nina");
    }

    [Fact]
    public async Task ASubscriberIsSentToThePortalRatherThanASecondSubscription()
    {
        await using var billing = await BillingTestApp.StartAsync(platform);
        await billing.SubscribeAsync("sue", "guru");
        await billing.DeliverNewEventsAsync();
        using var client = billing.WebClient("sue");
        using var again = await client.PostAsJsonAsync("/billing/checkout", new { plan = "pro" });
        again.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await again.Content.ReadAsStringAsync()).ShouldContain("/billing/portal");
        (await billing.PortalUrlAsync("sue")).ShouldContain("/portal/bps_");
    }

    [Fact]
    public async Task BadChoicesAndWrongCallersGetClearErrors()
    {
        await using var billing = await BillingTestApp.StartAsync(platform);
        using var client = billing.WebClient("bob");
        using (var plan = await client.PostAsJsonAsync("/billing/checkout", new { plan = "platinum" }))
        {
            plan.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
            (await plan.Content.ReadAsStringAsync()).ShouldContain("guru");
        }
        using (var tier = await client.PostAsJsonAsync("/billing/topup", new { tier = "huge" }))
        {
            tier.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        }
        using (var portal = await client.PostAsync("/billing/portal", null))
        {
            portal.StatusCode.ShouldBe(HttpStatusCode.NotFound, "no customer yet");
        }
        var (_, apiKey) = await billing.App.SeedKeyAsync("bob");
        using var key = billing.App.KeyClient(apiKey);
        using (var byKey = await key.PostAsJsonAsync("/billing/checkout", new { plan = "guru" }))
        {
            ((int)byKey.StatusCode).ShouldBeOneOf(401, 403);
        }
        using var read = await key.GetAsync("/billing");
        read.StatusCode.ShouldBe(HttpStatusCode.OK, "GET /billing takes a key too");
        (await read.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("plan").GetString().ShouldBe("free");
    }

    [Fact]
    public async Task AutoTopupSettingsAreValidatedAndNeedASavedCard()
    {
        await using var billing = await BillingTestApp.StartAsync(platform);
        using var client = billing.WebClient("val");
        var good = new { enabled = true, threshold_credits = 1_000, tier = "small", monthly_limit_usd = 50 };
        using (var noCard = await client.PutAsJsonAsync("/billing/auto-topup", good))
        {
            noCard.StatusCode.ShouldBe(HttpStatusCode.Conflict);
            (await noCard.Content.ReadAsStringAsync()).ShouldContain("saved card");
        }
        object[] bad =
        [
            new { threshold_credits = 1_000, tier = "small", monthly_limit_usd = 50 },
            new { enabled = true, threshold_credits = 5, tier = "small", monthly_limit_usd = 50 },
            new { enabled = true, threshold_credits = 5_000_000, tier = "small", monthly_limit_usd = 50 },
            new { enabled = true, threshold_credits = 1_000, tier = "gigantic", monthly_limit_usd = 50 },
            new { enabled = true, threshold_credits = 1_000, tier = "large", monthly_limit_usd = 50 },
            new { enabled = true, threshold_credits = 1_000, tier = "small", monthly_limit_usd = 100_000 },
        ];
        foreach (var body in bad)
        {
            using var response = await client.PutAsJsonAsync("/billing/auto-topup", body);
            response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, System.Text.Json.JsonSerializer.Serialize(body));
            (await response.Content.ReadAsStringAsync()).ShouldContain("\"detail\"");
        }

        await billing.BuyTopupAsync("val", "small");
        await billing.DeliverNewEventsAsync();
        using var saved = await client.PutAsJsonAsync("/billing/auto-topup", good);
        saved.StatusCode.ShouldBe(HttpStatusCode.OK, await saved.Content.ReadAsStringAsync());
        var shown = (await billing.BillingAsync("val")).GetProperty("auto_topup");
        shown.GetProperty("enabled").GetBoolean().ShouldBeTrue();
        shown.GetProperty("threshold_credits").GetInt64().ShouldBe(1_000);
        shown.GetProperty("tier").GetString().ShouldBe("small");
        shown.GetProperty("monthly_limit_usd").GetInt64().ShouldBe(50);
    }
}
