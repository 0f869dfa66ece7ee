using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Majestix.GoogleCloud.Firestore;
using Majestix.InferenceApi.Credits;
using Majestix.InferenceApi.Identity;
using Microsoft.Extensions.DependencyInjection;
using static Majestix.InferenceApi.Tests.Credits.CreditTestExtensions;

namespace Majestix.InferenceApi.Tests.Credits;

[Collection(PlatformCollection.Name)]
public sealed class CreditsApiTests(PlatformFixture platform)
{
    private static readonly Uri Grant = new("/admin/credits/grant", UriKind.Relative);
    private static readonly Uri Refresh = new("/credits/refresh", UriKind.Relative);

    [Fact]
    public async Task GrantingCreditsNeedsAnAdminAndIsIdempotentPerIdempotencyKey()
    {
        await using var app = new InferenceApiApplication(platform);
        using var user = app.WebClient("gary");
        using var admin = app.WebClient("ada", admin: true);
        var (_, apiKey) = await app.SeedKeyAsync("gary");
        using var keyClient = app.KeyClient(apiKey);
        var body = new { user_id = "gary", credits = 12.5m, reason = "support credit" };

        (await user.PostAsJsonAsync(Grant, body)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await keyClient.PostAsJsonAsync(Grant, body)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        var first = await PostGrantAsync(admin, body, "ticket-4711");
        var repeat = await PostGrantAsync(admin, body, "ticket-4711");
        var reused = await PostGrantAsync(admin, body with { credits = 99m }, "ticket-4711");
        var withoutKey = await PostGrantAsync(admin, body with { credits = 1m }, null);
        var another = await PostGrantAsync(admin, body with { credits = 1m }, "ticket-4712");

        first.StatusCode.ShouldBe(HttpStatusCode.OK);
        using (var granted = JsonDocument.Parse(await first.Content.ReadAsStringAsync()))
        {
            granted.RootElement.GetProperty("grant_id").GetString().ShouldBe("grant-ticket-4711");
            granted.RootElement.GetProperty("credits").GetDecimal().ShouldBe(12.5m);
            granted.RootElement.GetProperty("duplicate").GetBoolean().ShouldBeFalse();
        }
        repeat.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await repeat.Content.ReadAsStringAsync()).ShouldContain("\"duplicate\":true");
        reused.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        withoutKey.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        using (var refused = JsonDocument.Parse(await withoutKey.Content.ReadAsStringAsync()))
        {
            refused.RootElement.GetProperty("detail").GetString()!.ShouldContain("Idempotency-Key");
        }
        another.StatusCode.ShouldBe(HttpStatusCode.OK);
        var balance = await RefreshAsync(user);
        balance.GetProperty("topup_balance").GetDecimal().ShouldBe(13.5m);
        balance.GetProperty("credits_remaining").GetDecimal().ShouldBe(513.5m);
        (await app.LedgerAsync("gary")).Select(e => (e.Type, e.TopupDelta)).Order()
            .ShouldBe([("grant", Units(1)), ("grant", Units(12.5m))]);
    }

    [Theory]
    [InlineData("""{"user_id":"gary","credits":0,"reason":"x"}""", "credits")]
    [InlineData("""{"user_id":"gary","credits":-5,"reason":"x"}""", "credits")]
    [InlineData("""{"user_id":"gary","credits":1000001,"reason":"x"}""", "credits")]
    [InlineData("""{"user_id":"gary","credits":0.0000001,"reason":"x"}""", "decimal places")]
    [InlineData("""{"user_id":"gary","credits":5}""", "reason")]
    [InlineData("""{"user_id":"gary","credits":5,"reason":"   "}""", "reason")]
    [InlineData("""{"user_id":"../gary","credits":5,"reason":"x"}""", "user_id")]
    [InlineData("""{"credits":5,"reason":"x"}""", "user_id")]
    [InlineData("""{"user_id":"gary","credits":"five","reason":"x"}""", "Malformed")]
    public async Task GrantRejectsBadInputWith400AndADetail(string json, string mentioned)
    {
        await using var app = new InferenceApiApplication(platform);
        using var admin = app.WebClient("ada", admin: true);

        using var response = await admin.PostAsync(Grant, new StringContent(json, Encoding.UTF8, "application/json"));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        body.RootElement.GetProperty("detail").GetString()!.ShouldContain(mentioned);
        (await app.LedgerAsync("gary")).ShouldBeEmpty();
    }

    [Fact]
    public async Task GrantRejectsAnOverlongReasonAndABadIdempotencyKey()
    {
        await using var app = new InferenceApiApplication(platform);
        using var admin = app.WebClient("ada", admin: true);

        var longReason = await PostGrantAsync(admin, new { user_id = "gary", credits = 5m, reason = new string('r', 201) }, null);
        var badKey = await PostGrantAsync(admin, new { user_id = "gary", credits = 5m, reason = "ok" }, "a/b");

        longReason.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await longReason.Content.ReadAsStringAsync()).ShouldContain("200");
        badKey.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await badKey.Content.ReadAsStringAsync()).ShouldContain("Idempotency-Key");
    }

    [Fact]
    public async Task RefreshReloadsTheBalanceFromFirestoreIncludingEntriesWrittenElsewhere()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("paula", "pro");
        using var client = app.WebClient("paula");
        var hold = (await app.Credits().ReserveAsync("paula", Units(1_000))).Reservation!;
        await app.Credits().SettleAsync(hold, Units(250.75m));
        // A top-up recorded by another service in the ledger (through the ledger's write path, which keeps its sums), which this Redis never saw.
        await app.Services.GetRequiredService<CreditLedger>().AppendAsync("paula", "stripe-cs_123", new LedgerEntry(LedgerEntryTypes.Topup, 0, Units(5_000),
            DateTimeOffset.UtcNow, DateTimeOffset.UnixEpoch), CancellationToken.None);

        var outstanding = (await app.Credits().ReserveAsync("paula", Units(100))).Reservation!;

        var balance = await RefreshAsync(client);
        await app.Credits().SettleAsync(outstanding, 0);

        balance.GetProperty("plan").GetString().ShouldBe("pro");
        balance.GetProperty("plan_allocation").GetDecimal().ShouldBe(55_000m);
        balance.GetProperty("plan_credits_remaining").GetDecimal().ShouldBe(54_649.25m, "the outstanding hold stays held");
        balance.GetProperty("topup_balance").GetDecimal().ShouldBe(5_000m);
        balance.GetProperty("credits_remaining").GetDecimal().ShouldBe(59_649.25m);
        var afterRelease = await app.Credits().GetBalanceAsync("paula");
        (afterRelease.PlanUnits, afterRelease.TopupUnits).ShouldBe((Units(54_749.25m), Units(5_000)));
    }

    [Fact]
    public async Task InvalidCreditSettingsStopTheServiceFromStarting()
    {
        await using var app = new InferenceApiApplication(platform, settings: new Dictionary<string, string?> { ["Credits:HoldTtlSeconds"] = "0" });

        var failure = Should.Throw<Microsoft.Extensions.Options.OptionsValidationException>(() => app.CreateClient());

        failure.Message.ShouldContain("HoldTtlSeconds");
    }

    [Fact]
    public async Task RefusedReservationsAnswer402WithTheQuotaExceededBodyClientsParse()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.Credits().ReserveAsync("hugo", Units(499.25m));
        var refused = await app.Credits().ReserveAsync("hugo", Units(2.5m));
        var context = new Microsoft.AspNetCore.Http.DefaultHttpContext { RequestServices = app.Services };
        context.Response.Body = new MemoryStream();

        await CreditsApi.QuotaExceeded(refused, Plan.Free).ExecuteAsync(context);

        context.Response.StatusCode.ShouldBe(402);
        context.Response.Body.Position = 0;
        using var body = await JsonDocument.ParseAsync(context.Response.Body);
        var detail = body.RootElement.GetProperty("detail");
        detail.GetProperty("code").GetString().ShouldBe("QUOTA_EXCEEDED");
        detail.GetProperty("message").GetString().ShouldNotBeNullOrWhiteSpace();
        detail.GetProperty("credits_remaining").ValueKind.ShouldBe(JsonValueKind.Number);
        detail.GetProperty("credits_remaining").GetDecimal().ShouldBe(0.75m);
        detail.GetProperty("credits_required").GetDecimal().ShouldBe(2.5m);
        detail.GetProperty("plan").GetString().ShouldBe("free");
    }

    private static async Task<HttpResponseMessage> PostGrantAsync(HttpClient admin, object body, string? idempotencyKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Grant) { Content = JsonContent.Create(body) };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }
        return await admin.SendAsync(request);
    }

    private static async Task<JsonElement> RefreshAsync(HttpClient client)
    {
        using var response = await client.PostAsync(Refresh, null);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.Clone();
    }
}
