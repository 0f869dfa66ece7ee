using System.Net.Http.Json;
using System.Text.Json;
using Majestix.InferenceApi.Tests.Credits;

namespace Majestix.InferenceApi.Tests;

[Collection(PlatformCollection.Name)]
public sealed class UsageReportTests(PlatformFixture platform)
{
    private static readonly Uri UsageMe = new("/usage/me", UriKind.Relative);

    [Fact]
    public async Task UsageShowsBothFieldSetsAndTheNewChargeDespiteTheCache()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("reporter", "guru");
        var (_, apiKey) = await app.SeedKeyAsync("reporter");
        using var client = app.KeyClient(apiKey);
        using var before = JsonDocument.Parse(await client.GetStringAsync(UsageMe));
        before.RootElement.GetProperty("this_month").GetProperty("requests").GetInt32().ShouldBe(0);

        using var call = await client.PostAsJsonAsync("/code", new { model = "gpt-5-mini", stream = false, messages = new[] { new { role = "user", content = "hi" } } });
        using var answer = JsonDocument.Parse(await call.Content.ReadAsStringAsync());
        var creditsUsed = answer.RootElement.GetProperty("credits_used").GetDecimal();
        // The report lists ledger entries; the charge's entry is written in the background.
        await app.WaitForLedgerWritesAsync();
        using var after = JsonDocument.Parse(await client.GetStringAsync(UsageMe));

        var report = after.RootElement;
        report.GetProperty("plan").GetString().ShouldBe("guru");
        report.GetProperty("plan_allocation").GetDecimal().ShouldBe(10_000m);
        report.GetProperty("monthly_credits_total").GetDecimal().ShouldBe(10_000m);
        report.GetProperty("plan_credits_remaining").GetDecimal().ShouldBe(10_000m - creditsUsed);
        report.GetProperty("monthly_credits_remaining").GetDecimal().ShouldBe(10_000m - creditsUsed);
        report.GetProperty("topup_balance").GetDecimal().ShouldBe(0m);
        report.GetProperty("billing_cycle_end").GetDateTimeOffset().ShouldBeGreaterThan(report.GetProperty("billing_cycle_start").GetDateTimeOffset());
        report.GetProperty("this_month").GetProperty("requests").GetInt32().ShouldBe(1);
        report.GetProperty("this_month").GetProperty("credits_used").GetDecimal().ShouldBe(creditsUsed);
        report.GetProperty("by_model").GetProperty("gpt-5-mini").GetProperty("requests").GetInt32().ShouldBe(1);
        var totals = report.GetProperty("usage");
        totals.GetProperty("total_credits_used").GetDecimal().ShouldBe(creditsUsed);
        totals.GetProperty("total_requests").GetInt32().ShouldBe(1);
        totals.GetProperty("breakdown_by_model")[0].GetProperty("model").GetString().ShouldBe("gpt-5-mini");
    }

    [Fact]
    public async Task ReportIsCachedForAMinuteWhenNothingChanges()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("steady", "pro");
        var (_, apiKey) = await app.SeedKeyAsync("steady");
        using var client = app.KeyClient(apiKey);

        await client.GetStringAsync(UsageMe);
        var ttl = await app.Redis.KeyTimeToLiveAsync("usage:steady");

        ttl.ShouldNotBeNull();
        ttl.Value.TotalSeconds.ShouldBeInRange(50, 60);
    }
}
