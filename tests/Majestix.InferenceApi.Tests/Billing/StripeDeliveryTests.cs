using System.Net.Http.Json;
using System.Text.Json;
using Majestix.Testing;
using Stripe;

namespace Majestix.InferenceApi.Tests.Billing;

/// <summary>
/// The whole loop as it runs in production, over real HTTP: the gateway on Kestrel, the local Stripe delivering its own
/// signed events to <c>/billing/webhook</c> with copies and reordering, nothing delivered by the test.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class StripeDeliveryTests(PlatformFixture platform)
{
    [Fact]
    public async Task StripesOwnDeliveriesWithCopiesAndReorderingGrantEachPaymentOnce()
    {
        var stripe = await platform.Stripe.NewAccountAsync();
        var port = FreePort.Next();
        var endpoint = await stripe.Client.V1.WebhookEndpoints.CreateAsync(new WebhookEndpointCreateOptions
        {
            Url = $"http://127.0.0.1:{port}/billing/webhook",
            EnabledEvents = ["*"],
        });
        endpoint.Secret.ShouldStartWith("whsec_");
        await using var app = new InferenceApiApplication(platform, settings: stripe.Settings(endpoint.Secret));
        app.UseKestrel(port);
        app.StartServer();
        await stripe.SetDeliveryAsync(duplicates: 2, hold: true, reorder: true);

        using var web = app.WebClient("eve");
        (await stripe.PayCheckoutAsync(await CheckoutUrlAsync(web, "/billing/checkout", new { plan = "pro" }))).ShouldBe("complete");
        (await stripe.PayCheckoutAsync(await CheckoutUrlAsync(web, "/billing/topup", new { tier = "small" }))).ShouldBe("complete");
        await stripe.ReleaseDeliveriesAsync();

        var settled = await Eventually.HoldsAsync(async () =>
        {
            var usage = await web.GetFromJsonAsync<JsonElement>("/usage/me");
            return usage.GetProperty("plan").GetString() == "pro" && usage.GetProperty("topup_balance").GetDecimal() == 5_000m;
        }, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(250));
        settled.ShouldBeTrue("the plan and the top-up arrived through Stripe's own deliveries");
        await Task.Delay(TimeSpan.FromSeconds(1));

        var usage = await web.GetFromJsonAsync<JsonElement>("/usage/me");
        usage.GetProperty("plan_credits_remaining").GetDecimal().ShouldBe(55_000m);
        usage.GetProperty("topup_balance").GetDecimal().ShouldBe(5_000m, "three copies of each event, one grant");
        var deliveries = await stripe.DeliveriesAsync();
        deliveries.Count(d => d.Type == "checkout.session.completed").ShouldBeGreaterThanOrEqualTo(6, "two checkouts, each delivered three times");
        deliveries.ShouldAllBe(d => d.Status == 200);
    }

    private static async Task<string> CheckoutUrlAsync(HttpClient web, string path, object body)
    {
        using var response = await web.PostAsJsonAsync(path, body);
        response.IsSuccessStatusCode.ShouldBeTrue(await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("checkout_url").GetString()!;
    }
}
