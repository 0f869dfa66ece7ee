using System.Net;
using System.Text.Json;
using Majestix.InferenceApi.Credits;
using Microsoft.Extensions.DependencyInjection;
using static Majestix.InferenceApi.Tests.Credits.CreditTestExtensions;

namespace Majestix.InferenceApi.Tests.Credits;

/// <summary>Rebuilds, refreshes and usage reports read the ledger's sums, not its entries: bounded reads, the same numbers.</summary>
[Collection(PlatformCollection.Name)]
public sealed class LedgerAggregateTests(PlatformFixture platform)
{
    private static readonly Dictionary<string, string?> ManualReaper = new() { ["Credits:ReaperIntervalMilliseconds"] = "3600000" };

    private static readonly string[] Models = ["gpt-5-mini", "claude-sonnet-4.5", "gemini-3-flash", "kimi-k2"];

    [Fact]
    public async Task ReadsOfATwentyThousandEntryLedgerTouchABoundedNumberOfDocumentsAndEqualAFullScan()
    {
        var probe = new FirestoreProbe();
        await using var harness = new InferenceApiApplication(platform, settings: ManualReaper);
        await using var app = probe.Attach(harness);
        await harness.SeedUserAsync("zane", "pro");
        var ledger = app.Services.GetRequiredService<CreditLedger>();
        // The user's first balance: the one-time fold of entries older than the sums finds none.
        await app.Credits().GetBalanceAsync("zane");
        var profile = await ledger.GetOrCreateProfileAsync("zane", CancellationToken.None);
        var cycle = profile.CycleAt(DateTimeOffset.UtcNow);
        var lastCycle = cycle.Start.AddMonths(-1);
        var random = new Random(19);
        var entries = Enumerable.Range(0, 20_000).Select(i =>
        {
            var created = cycle.Start.AddMinutes(i % 1000);
            return i % 500 == 0
                ? ("zane", $"grant-{i}", new LedgerEntry(LedgerEntryTypes.Grant, 0, Units(10), created, DateTimeOffset.UnixEpoch, Reason: "test"))
                : ("zane", $"hold_{i}", new LedgerEntry(LedgerEntryTypes.Charge, -random.NextInt64(1, 2_000_000), -(i % 7 == 0 ? random.NextInt64(0, 50_000) : 0),
                    created, i % 10 == 0 ? lastCycle : cycle.Start, Models[i % Models.Length], $"req-{i}"));
        }).ToList();
        foreach (var chunk in entries.Chunk(2_000))
        {
            (await ledger.AppendBatchAsync(chunk, CancellationToken.None)).ShouldAllBe(r => r.InLedger && r.Error == null);
        }

        probe.ResetDocumentsRead();
        var scan = await ledger.ReadAllAsync("zane", CancellationToken.None);
        var fullScanReads = probe.DocumentsRead;
        using var client = app.WebClient(harness, "zane");
        probe.ResetDocumentsRead();
        using var refreshResponse = await client.PostAsync(new Uri("/credits/refresh", UriKind.Relative), null);
        var refreshReads = probe.DocumentsRead;
        await app.Redis().KeyDeleteAsync(CreditKeys.Balance("zane"));
        probe.ResetDocumentsRead();
        var rebuilt = await app.Credits().GetBalanceAsync("zane");
        var rebuildReads = probe.DocumentsRead;
        probe.ResetDocumentsRead();
        using var usageResponse = await client.GetAsync(new Uri("/usage/me", UriKind.Relative));
        var usageReads = probe.DocumentsRead;

        scan.Count.ShouldBe(20_000);
        fullScanReads.ShouldBe(20_000);
        refreshReads.ShouldBeLessThanOrEqualTo(4, "the user document and the two sums (and an entry or two pending)");
        rebuildReads.ShouldBeLessThanOrEqualTo(4);
        usageReads.ShouldBeLessThanOrEqualTo(4);
        var charges = scan.Where(e => e.Type == LedgerEntryTypes.Charge && e.CycleStart == cycle.Start).ToList();
        var plan = profile.AllocationUnits + scan.Where(e => e.CycleStart == cycle.Start).Sum(e => e.PlanDelta);
        var topup = scan.Sum(e => e.TopupDelta);
        if (plan < 0)
        {
            (topup, plan) = (topup + plan, 0);
        }
        refreshResponse.StatusCode.ShouldBe(HttpStatusCode.OK);
        using var refreshed = JsonDocument.Parse(await refreshResponse.Content.ReadAsStringAsync());
        refreshed.RootElement.GetProperty("plan_credits_remaining").GetDecimal().ShouldBe(CreditUnits.ToCredits(plan));
        refreshed.RootElement.GetProperty("topup_balance").GetDecimal().ShouldBe(CreditUnits.ToCredits(Math.Max(0, topup)));
        (rebuilt.PlanUnits, rebuilt.TopupUnits).ShouldBe((plan, Math.Max(0, topup)));
        usageResponse.StatusCode.ShouldBe(HttpStatusCode.OK);
        using var usage = JsonDocument.Parse(await usageResponse.Content.ReadAsStringAsync());
        var thisMonth = usage.RootElement.GetProperty("this_month");
        thisMonth.GetProperty("requests").GetInt32().ShouldBe(charges.Count);
        thisMonth.GetProperty("credits_used").GetDecimal().ShouldBe(CreditUnits.ToCredits(-charges.Sum(e => e.PlanDelta + e.TopupDelta)));
        var byModel = usage.RootElement.GetProperty("by_model");
        foreach (var model in charges.GroupBy(e => e.Model!))
        {
            var reported = byModel.GetProperty(model.Key);
            reported.GetProperty("requests").GetInt32().ShouldBe(model.Count());
            reported.GetProperty("credits_used").GetDecimal().ShouldBe(CreditUnits.ToCredits(-model.Sum(e => e.PlanDelta + e.TopupDelta)));
        }
    }

    [Fact]
    public async Task EntriesWrittenBeforeTheLedgerKeptSumsAreFoldedInOnceEvenByTwoHostsAtOnce()
    {
        await using var first = new InferenceApiApplication(platform, settings: ManualReaper);
        await using var second = new InferenceApiApplication(platform, first.Isolation, ManualReaper);
        await first.SeedCreditUserAsync("olga", "free", DateTimeOffset.UtcNow.AddDays(-2));
        var cycle = (await first.Services.GetRequiredService<CreditLedger>().GetOrCreateProfileAsync("olga", CancellationToken.None)).CycleAt(DateTimeOffset.UtcNow);
        // Entries as the ledger was written before it kept sums: plain documents, no aggregates.
        for (var i = 0; i < 30; i++)
        {
            await first.Firestore.CreateAsync(CreditLedger.EntryPath("olga", $"hold_old{i}"),
                new LedgerEntry(LedgerEntryTypes.Charge, -Units(2), 0, DateTimeOffset.UtcNow, cycle.Start, "gpt-5-mini"), CreditsJson.Default.LedgerEntry);
        }
        await first.Firestore.CreateAsync(CreditLedger.EntryPath("olga", "grant-old"),
            new LedgerEntry(LedgerEntryTypes.Grant, 0, Units(7), DateTimeOffset.UtcNow, DateTimeOffset.UnixEpoch), CreditsJson.Default.LedgerEntry);

        var balances = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => (i % 2 == 0 ? first : second).Credits().RefreshAsync("olga")));
        var hold = (await first.Credits().ReserveAsync("olga", Units(5))).Reservation!;
        await first.Credits().SettleAsync(hold, Units(5), "gpt-5-mini");
        await first.WaitForLedgerWritesAsync();
        var afterNewCharge = await second.Credits().RefreshAsync("olga");
        var report = await first.Services.GetRequiredService<UsageReports>().GetAsync("olga", CancellationToken.None);

        balances.ShouldAllBe(b => b.PlanUnits == Units(440) && b.TopupUnits == Units(7));
        (afterNewCharge.PlanUnits, afterNewCharge.TopupUnits).ShouldBe((Units(435), Units(7)));
        report.ThisMonth.ShouldBe(new PeriodUsage(65m, 31));
    }
}
