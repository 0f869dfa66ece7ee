using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Majestix.InferenceApi.Credits;
using static Majestix.InferenceApi.Tests.Credits.CreditTestExtensions;

namespace Majestix.InferenceApi.Tests.Credits;

[Collection(PlatformCollection.Name)]
public sealed class AdminAnalyticsTests(PlatformFixture platform)
{
    private static readonly Dictionary<string, string?> ManualReaper = new() { ["Credits:ReaperIntervalMilliseconds"] = "3600000" };

    [Fact]
    public async Task AnalyticsAndModelEconomicsReportTheLedgersChargesGrantsAndUsersByPlanForAPeriod()
    {
        await using var app = new InferenceApiApplication(platform, settings: ManualReaper);
        await app.SeedCreditUserAsync("ann", "free", DateTimeOffset.UtcNow.AddDays(-1));
        await app.SeedUserAsync("ben", "pro");
        await app.SeedUserAsync("cal", "guru");
        using var admin = app.WebClient("ada", admin: true);
        using var ben = app.WebClient("ben");
        var credits = app.Credits();
        var charged = new List<(string Model, long Units)>();
        foreach (var (user, model, units) in new[] { ("ann", "gpt-5-mini", Units(2)), ("ann", "gpt-5-mini", Units(2)), ("ann", "gpt-5-mini", Units(2.5m)), ("cal", "kimi-k2", Units(10)) })
        {
            var hold = (await credits.ReserveAsync(user, Units(20))).Reservation!;
            await credits.SettleAsync(hold, units, model, "req");
            charged.Add((model, units));
        }
        // A real model call through the gateway, charged what the mock upstream reports.
        using (var call = await ben.PostAsJsonAsync(new Uri("/code", UriKind.Relative),
            new { model = "claude-haiku", stream = false, messages = new[] { new { role = "user", content = "hello [[mock output_tokens=50]]" } } }))
        {
            call.StatusCode.ShouldBe(HttpStatusCode.OK);
        }
        using var grant = new HttpRequestMessage(HttpMethod.Post, "/admin/credits/grant") { Content = JsonContent.Create(new { user_id = "ann", credits = 5m, reason = "support" }) };
        grant.Headers.Add("Idempotency-Key", "analytics-1");
        (await admin.SendAsync(grant)).StatusCode.ShouldBe(HttpStatusCode.OK);
        await app.WaitForLedgerWritesAsync();
        var ledgerCharges = (await Task.WhenAll(new[] { "ann", "ben", "cal" }.Select(user => app.LedgerAsync(user))))
            .SelectMany(entries => entries).Where(e => e.Type == LedgerEntryTypes.Charge).ToList();
        var today = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

        using var analytics = await GetJsonAsync(admin, $"/admin/analytics?from={today}&to={today}");
        using var economics = await GetJsonAsync(admin, $"/admin/model-economics?from={today}&to={today}");
        using var yesterday = await GetJsonAsync(admin, $"/admin/analytics?to={DateTimeOffset.UtcNow.AddDays(-1):yyyy-MM-dd}");

        ledgerCharges.Count.ShouldBe(5);
        var root = analytics.RootElement;
        root.GetProperty("requests").GetInt64().ShouldBe(5);
        root.GetProperty("credits_charged").GetDecimal().ShouldBe(CreditUnits.ToCredits(-ledgerCharges.Sum(e => e.PlanDelta + e.TopupDelta)));
        root.GetProperty("credits_granted").GetDecimal().ShouldBe(5m);
        var plans = root.GetProperty("users_by_plan");
        (plans.GetProperty("free").GetInt64(), plans.GetProperty("guru").GetInt64(), plans.GetProperty("pro").GetInt64()).ShouldBe((1L, 1L, 1L));
        var mini = root.GetProperty("by_model").EnumerateArray().Single(m => m.GetProperty("model").GetString() == "gpt-5-mini");
        (mini.GetProperty("requests").GetInt64(), mini.GetProperty("credits_charged").GetDecimal()).ShouldBe((3L, 6.5m));
        root.GetProperty("days").EnumerateArray().ShouldHaveSingleItem().GetProperty("requests").GetInt64().ShouldBe(5);
        yesterday.RootElement.GetProperty("requests").GetInt64().ShouldBe(0);
        yesterday.RootElement.GetProperty("days").GetArrayLength().ShouldBe(30);

        var models = economics.RootElement.GetProperty("models").EnumerateArray().ToDictionary(m => m.GetProperty("model").GetString()!);
        models.Keys.Order().ShouldBe(ledgerCharges.Select(e => e.Model!).Distinct().Order());
        foreach (var (model, entries) in ledgerCharges.GroupBy(e => e.Model!).Select(g => (g.Key, g.ToList())))
        {
            var units = -entries.Sum(e => e.PlanDelta + e.TopupDelta);
            var row = models[model];
            row.GetProperty("credits_charged").GetDecimal().ShouldBe(CreditUnits.ToCredits(units));
            row.GetProperty("revenue_usd").GetDecimal().ShouldBe(CreditUnits.ToCredits(units) * 0.001m);
            // Provider cost is the charge without the 1.4 markup, kept per entry in micro-dollars.
            row.GetProperty("provider_cost_usd").GetDecimal().ShouldBe(entries.Sum(e => LedgerAggregates.ProviderCostMicroUsd(-(e.PlanDelta + e.TopupDelta))) / 1_000_000m);
            row.GetProperty("provider_cost_usd").GetDecimal().ShouldBe(CreditUnits.ToCredits(units) * 0.001m / 1.4m, 0.000_002m * entries.Count);
        }
        economics.RootElement.GetProperty("total").GetProperty("requests").GetInt64().ShouldBe(5);
    }

    [Theory]
    [InlineData("/admin/analytics?from=2026-13-01&to=2026-12-01", "yyyy-MM-dd")]
    [InlineData("/admin/analytics?from=yesterday", "yyyy-MM-dd")]
    [InlineData("/admin/analytics?from=2026-12-02&to=2026-12-01", "after")]
    [InlineData("/admin/analytics?from=2025-01-01&to=2026-01-02", "366")]
    [InlineData("/admin/model-economics?from=2025-01-01&to=2026-01-02", "366")]
    [InlineData("/admin/model-economics?to=12/01/2026", "yyyy-MM-dd")]
    public async Task ABadPeriodIsA400WithADetail(string path, string mentioned)
    {
        await using var app = new InferenceApiApplication(platform);
        using var admin = app.WebClient("ada", admin: true);

        using var response = await admin.GetAsync(new Uri(path, UriKind.Relative));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        body.RootElement.GetProperty("detail").GetString()!.ShouldContain(mentioned);
    }

    [Fact]
    public async Task TheReportsNeedAnAdmin()
    {
        await using var app = new InferenceApiApplication(platform);
        using var user = app.WebClient("gary");
        var (_, apiKey) = await app.SeedKeyAsync("gary");
        using var keyClient = app.KeyClient(apiKey);

        (await user.GetAsync(new Uri("/admin/analytics", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await keyClient.GetAsync(new Uri("/admin/model-economics", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
    }

    private static async Task<JsonDocument> GetJsonAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, text);
        return JsonDocument.Parse(text);
    }
}
