using System.Net;
using System.Text;

namespace Majestix.InferenceApi.Tests.Billing;

[Collection(PlatformCollection.Name)]
public sealed class WebhookSignatureTests(PlatformFixture platform)
{
    private const string UnknownEvent = """{"id":"evt_unknown1","object":"event","api_version":"2026-10-28.endive","created":1765000000,"data":{"object":{"id":"cus_x","object":"customer"}},"livemode":false,"pending_webhooks":1,"request":{"id":null,"idempotency_key":null},"type":"customer.created"}""";

    [Fact]
    public async Task AValidSignatureIsAcceptedAndAnEventTypeOutsideTheElevenIsAcknowledgedAndIgnored()
    {
        await using var billing = await BillingTestApp.StartAsync(platform);
        using var response = await billing.DeliverAsync(UnknownEvent);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await response.Content.ReadAsStringAsync()).ShouldContain("not an event billing acts on");
    }

    [Fact]
    public async Task AWrongSecretATamperedBodyOrAStaleTimestampIs400AndChangesNothing()
    {
        await using var billing = await BillingTestApp.StartAsync(platform);
        await billing.BuyTopupAsync("sig-user", "small");
        var completed = (await billing.Stripe.NewEventsAsync()).Single(e => e.Type == "checkout.session.completed");

        using (var wrongSecret = await billing.DeliverAsync(completed.Json, secret: "whsec_not_this_endpoints"))
        {
            wrongSecret.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
            (await wrongSecret.Content.ReadAsStringAsync()).ShouldContain("No v1 signature matches");
        }
        using (var stale = await billing.DeliverAsync(completed.Json, signedAt: DateTimeOffset.UtcNow.AddSeconds(-301)))
        {
            stale.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
            (await stale.Content.ReadAsStringAsync()).ShouldContain("tolerance");
        }
        using (var future = await billing.DeliverAsync(completed.Json, signedAt: DateTimeOffset.UtcNow.AddSeconds(301)))
        {
            future.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        }
        using (var client = billing.Host.CreateClient())
        {
            // Signed, then changed on the way by one byte that means nothing to a JSON parser: the HMAC covers every byte.
            var tampered = completed.Json.Insert(completed.Json.Length - 1, " ");
            using var request = new HttpRequestMessage(HttpMethod.Post, "/billing/webhook") { Content = new StringContent(tampered, Encoding.UTF8, "application/json") };
            request.Headers.TryAddWithoutValidation("Stripe-Signature", BillingTestApp.SignatureHeader(completed.Json, [StripeAccount.WebhookSecret], DateTimeOffset.UtcNow));
            using var response = await client.SendAsync(request);
            response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);

            using var unsigned = await client.PostAsync("/billing/webhook", new StringContent(completed.Json, Encoding.UTF8, "application/json"));
            unsigned.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        }
        (await billing.BalanceAsync("sig-user")).TopupUnits.ShouldBe(0, "no refused delivery granted anything");
        (await billing.LedgerAsync("sig-user")).ShouldBeEmpty();

        using var valid = await billing.DeliverAsync(completed.Json, signedAt: DateTimeOffset.UtcNow.AddSeconds(-290));
        valid.StatusCode.ShouldBe(HttpStatusCode.OK, "within the 300 s tolerance");
        (await billing.BalanceAsync("sig-user")).TopupUnits.ShouldBe(BillingTestApp.Units(5_000));
    }

    [Fact]
    public async Task DuringASecretRollEitherV1SignatureMayMatchEitherSecret()
    {
        const string oldSecret = "whsec_old_0123456789";
        const string newSecret = "whsec_new_0123456789";
        await using var rolling = await BillingTestApp.StartAsync(platform, settings: new() { ["STRIPE_WEBHOOK_SECRET"] = $"{oldSecret},{newSecret}" });
        await using var rolled = await BillingTestApp.StartAsync(platform, settings: new() { ["STRIPE_WEBHOOK_SECRET"] = newSecret });

        // Stripe signs with both secrets while the endpoint's is rolled: two v1 values in one header.
        var bothSigned = BillingTestApp.SignatureHeader(UnknownEvent, [oldSecret, newSecret], DateTimeOffset.UtcNow);
        (await PostAsync(rolled, bothSigned)).ShouldBe(HttpStatusCode.OK, "the second v1 matches the new secret");
        (await PostAsync(rolling, bothSigned)).ShouldBe(HttpStatusCode.OK);
        (await PostAsync(rolling, BillingTestApp.SignatureHeader(UnknownEvent, [oldSecret], DateTimeOffset.UtcNow))).ShouldBe(HttpStatusCode.OK,
            "an endpoint mid-roll still takes the old secret alone");
        (await PostAsync(rolled, BillingTestApp.SignatureHeader(UnknownEvent, [oldSecret], DateTimeOffset.UtcNow))).ShouldBe(HttpStatusCode.BadRequest,
            "after the roll the old secret alone is refused");
        (await PostAsync(rolled, "t=1,v0=abc")).ShouldBe(HttpStatusCode.BadRequest, "no v1 at all");
    }

    [Fact]
    public async Task AnOversizedOrNonEventBodyIsRefusedWithAClearError()
    {
        await using var billing = await BillingTestApp.StartAsync(platform);
        var huge = "{\"pad\":\"" + new string('a', 600_000) + "\"}";
        using (var tooLarge = await billing.DeliverAsync(huge))
        {
            tooLarge.StatusCode.ShouldBe(HttpStatusCode.RequestEntityTooLarge);
        }
        using var notAnEvent = await billing.DeliverAsync("[1,2,3]");
        notAnEvent.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await notAnEvent.Content.ReadAsStringAsync()).ShouldContain("not a Stripe event");
    }

    private static async Task<HttpStatusCode> PostAsync(BillingTestApp billing, string signature)
    {
        using var client = billing.Host.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/billing/webhook") { Content = new StringContent(UnknownEvent, Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("Stripe-Signature", signature);
        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }
}
