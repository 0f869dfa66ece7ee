using Majestix.GoogleCloud.Firestore;
using Majestix.InferenceApi.Credits;
using Majestix.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using static Majestix.InferenceApi.Tests.Credits.CreditTestExtensions;

namespace Majestix.InferenceApi.Tests.Credits;

[Collection(PlatformCollection.Name)]
public sealed class LedgerWriterTests(PlatformFixture platform)
{
    private static readonly long FreeAllocation = Units(500);

    // The reaper's re-drive is driven by hand, so what is written is the writer's doing unless a test says otherwise.
    private static readonly Dictionary<string, string?> ManualReaper = new() { ["Credits:ReaperIntervalMilliseconds"] = "3600000" };

    [Fact]
    public async Task ConcurrentSettlesAreWrittenInFewFirestoreRequestsEachEntryExactlyOnce()
    {
        var probe = new FirestoreProbe();
        await using var harness = new InferenceApiApplication(platform, settings: ManualReaper);
        await using var app = probe.Attach(harness);
        var credits = app.Credits();
        var holds = await credits.ReserveManyAsync("bea", 40, Units(5));
        probe.Hold();

        var settled = await Task.WhenAll(holds.Select((hold, i) => credits.SettleAsync(hold, Units(2), "gpt-5-mini", $"req-{i}")));
        await probe.BatchWriteArrived.WaitAsync(TimeSpan.FromSeconds(10));
        probe.Release();
        await app.WaitForLedgerWritesAsync();

        settled.ShouldAllBe(s => s.Status == SettleStatus.Settled && s.ChargedUnits == Units(2));
        probe.BatchWrites.ShouldBeLessThanOrEqualTo(2, "one request in flight, then everything queued behind it in one more");
        var ledger = await app.LedgerAsync("bea");
        ledger.Select(e => e.RequestId).Order().ShouldBe(Enumerable.Range(0, 40).Select(i => $"req-{i}").Order());
        ledger.ShouldAllBe(e => e.Type == LedgerEntryTypes.Charge && e.PlanDelta == -Units(2) && e.TopupDelta == 0);
        (await credits.GetBalanceAsync("bea")).PlanUnits.ShouldBe(FreeAllocation + ledger.Sum(e => e.PlanDelta));
    }

    [Fact]
    public async Task RebuildsWhileChargesWaitInTheWritersQueueDoNotOverstateTheBalance()
    {
        var probe = new FirestoreProbe();
        await using var harness = new InferenceApiApplication(platform, settings: ManualReaper);
        await using var app = probe.Attach(harness);
        var credits = app.Credits();
        var holds = await credits.ReserveManyAsync("nell", 6, Units(20));
        probe.Hold();
        await credits.SettleAsync(holds[0], Units(3));
        await probe.BatchWriteArrived.WaitAsync(TimeSpan.FromSeconds(10));
        // The writer is stuck on the first charge's request: these wait in its in-memory queue, unwritten.
        foreach (var hold in holds.Skip(1).Take(4))
        {
            await credits.SettleAsync(hold, Units(4));
        }
        var trueBalance = FreeAllocation - Units(3) - Units(16) - Units(20);

        var refreshed = await credits.RefreshAsync("nell");
        await app.Redis().KeyDeleteAsync(CreditKeys.Balance("nell"));
        var rebuilt = await credits.GetBalanceAsync("nell");
        (await app.LedgerAsync("nell")).ShouldBeEmpty("nothing was written while the queue was held");
        probe.Release();
        await credits.SettleAsync(holds[5], Units(20));
        await app.WaitForLedgerWritesAsync();
        var afterWrites = await credits.RefreshAsync("nell");

        refreshed.TotalUnits.ShouldBe(trueBalance, "the outstanding hold and the queued charges are not available");
        rebuilt.TotalUnits.ShouldBe(trueBalance);
        afterWrites.TotalUnits.ShouldBe(trueBalance);
        (await app.LedgerAsync("nell")).Sum(e => e.PlanDelta).ShouldBe(-(Units(3) + Units(16) + Units(20)));
    }

    [Fact]
    public async Task AnEntryWhoseDocumentAlreadyExistsCountsAsWrittenAndIsNotWrittenAgain()
    {
        var probe = new FirestoreProbe();
        await using var harness = new InferenceApiApplication(platform, settings: ManualReaper);
        await using var app = probe.Attach(harness);
        var credits = app.Credits();
        var hold = (await credits.ReserveAsync("cleo", Units(10))).Reservation!;
        var other = (await credits.ReserveAsync("cleo", Units(10))).Reservation!;
        // As the reaper's re-drive leaves it when it got there first.
        await app.Services.GetRequiredService<FirestoreClient>().CreateAsync(CreditLedger.EntryPath("cleo", hold.HoldId),
            new LedgerEntry(LedgerEntryTypes.Charge, -Units(4), 0, DateTimeOffset.UtcNow, DateTimeOffset.FromUnixTimeMilliseconds(hold.CycleStartMs)),
            CreditsJson.Default.LedgerEntry);

        await credits.SettleAsync(hold, Units(4), "gpt-5-mini", "req-existing");
        await credits.SettleAsync(other, Units(3), "gpt-5-mini", "req-new");
        await app.WaitForLedgerWritesAsync();

        var ledger = await app.LedgerAsync("cleo");
        ledger.Select(e => (e.RequestId, e.PlanDelta)).OrderBy(e => e.PlanDelta).ShouldBe(new (string?, long)[] { (null, -Units(4)), ("req-new", -Units(3)) });
        probe.BatchWrites.ShouldBeGreaterThanOrEqualTo(1);
    }

    [Fact]
    public async Task WhileFirestoreIsUnavailableChargesStayPendingAndTheReaperWritesThemLater()
    {
        var probe = new FirestoreProbe();
        await using var harness = new InferenceApiApplication(platform, settings: ManualReaper);
        await using var app = probe.Attach(harness);
        var credits = app.Credits();
        var holds = await credits.ReserveManyAsync("dora", 3, Units(10));

        probe.Unavailable = true;
        foreach (var (hold, i) in holds.Select((hold, i) => (hold, i)))
        {
            (await credits.SettleAsync(hold, Units(5 + i))).Status.ShouldBe(SettleStatus.Settled);
        }
        await probe.WaitForFailedWritesAsync(holds.Count);

        probe.FailedWrites.ShouldBe(holds.Count, "the writer tried each entry once");
        (await app.LedgerAsync("dora")).ShouldBeEmpty();
        (await app.Redis().SortedSetLengthAsync(CreditKeys.LedgerPending)).ShouldBe(holds.Count);
        (await credits.GetBalanceAsync("dora")).PlanUnits.ShouldBe(FreeAllocation - Units(18), "Redis charged them already");

        probe.Unavailable = false;
        await app.AgePendingLedgerEntriesAsync();
        var requestsBefore = probe.BatchWrites;
        await app.Reaper().RedriveLedgerAsync();

        (probe.BatchWrites - requestsBefore).ShouldBe(1, "the re-drive writes its batch in one request");
        var ledger = await app.LedgerAsync("dora");
        ledger.Select(e => e.PlanDelta).Order().ShouldBe([-Units(7), -Units(6), -Units(5)]);
        await app.WaitForLedgerWritesAsync();
        (await credits.RefreshAsync("dora")).PlanUnits.ShouldBe(FreeAllocation - Units(18));
    }

    [Fact]
    public async Task ABacklogLongerThanABatchIsWrittenInOnePassAndLoggedOnce()
    {
        var probe = new FirestoreProbe();
        var logs = new RecordingLogs();
        await using var harness = new InferenceApiApplication(platform, settings: ManualReaper);
        await using var app = probe.Attach(harness);
        // The app's own reaper writes to the service's log sink; this one, built from the same services, to the test.
        var reaper = ActivatorUtilities.CreateInstance<CreditReaper>(app.Services, logs.For<CreditReaper>());
        var credits = app.Credits();
        const int backlog = 450;
        var holds = await credits.ReserveManyAsync("gus", backlog, Units(1));

        probe.Unavailable = true;
        await Task.WhenAll(holds.Select(hold => credits.SettleAsync(hold, Units(1))));
        await probe.WaitForFailedWritesAsync(backlog);
        probe.FailedWrites.ShouldBe(backlog);
        probe.Unavailable = false;
        await app.AgePendingLedgerEntriesAsync();
        var requestsBefore = probe.BatchWrites;

        (await reaper.RedriveLedgerAsync()).ShouldBe(backlog);

        (probe.BatchWrites - requestsBefore).ShouldBe(3, "batches of 200, 200 and 50");
        (await app.LedgerAsync("gus")).Count.ShouldBe(backlog);
        (await app.Redis().SortedSetLengthAsync(CreditKeys.LedgerPending)).ShouldBe(0);
        logs.Lines.Where(line => line.Level == LogLevel.Warning)
            .ShouldHaveSingleItem().Message.ShouldBe($"Wrote {backlog} pending ledger entries that the ledger writer had not confirmed");
        (await reaper.RedriveLedgerAsync()).ShouldBe(0, "nothing is left for the next pass");
    }

    [Fact]
    public async Task ASettleDropsTheCachedUsageReportAndTheWriterDropsItAgainOnceTheEntryIsWritten()
    {
        var probe = new FirestoreProbe();
        await using var harness = new InferenceApiApplication(platform, settings: ManualReaper);
        await using var app = probe.Attach(harness);
        var credits = app.Credits();
        var hold = (await credits.ReserveAsync("ivy", Units(10))).Reservation!;
        await app.Redis().StringSetAsync(UsageReports.CacheKey("ivy"), "cached before the call");
        probe.Hold();

        await credits.SettleAsync(hold, Units(3));
        var afterSettle = await app.Redis().KeyExistsAsync(UsageReports.CacheKey("ivy"));
        // A report read now is built from a ledger without the charge, and cached.
        await app.Redis().StringSetAsync(UsageReports.CacheKey("ivy"), "cached before the entry was written");
        probe.Release();
        await app.WaitForLedgerWritesAsync();

        afterSettle.ShouldBeFalse();
        (await app.Redis().KeyExistsAsync(UsageReports.CacheKey("ivy"))).ShouldBeFalse();
    }

    [Fact]
    public async Task StoppingTheHostWritesTheEntriesStillQueued()
    {
        var probe = new FirestoreProbe();
        await using var harness = new InferenceApiApplication(platform, settings: ManualReaper);
        var app = probe.Attach(harness);
        var credits = app.Credits();
        var holds = await credits.ReserveManyAsync("erin", 5, Units(10));
        probe.Hold();
        await credits.SettleAsync(holds[0], Units(1));
        await probe.BatchWriteArrived.WaitAsync(TimeSpan.FromSeconds(10));
        // The writer is stuck on the first entry: these wait in its queue.
        foreach (var hold in holds.Skip(1))
        {
            await credits.SettleAsync(hold, Units(1));
        }

        var stopping = app.DisposeAsync().AsTask();
        await Task.Delay(200);
        probe.Release();
        await stopping.WaitAsync(TimeSpan.FromSeconds(30));

        await using var restarted = new InferenceApiApplication(platform, harness.Isolation, ManualReaper);
        (await restarted.LedgerAsync("erin")).Count.ShouldBe(5);
        (await restarted.Redis.SortedSetLengthAsync(CreditKeys.LedgerPending)).ShouldBe(0);
    }

    [Fact]
    public async Task AFullQueueLeavesChargesPendingForTheReaperNotLost()
    {
        var probe = new FirestoreProbe();
        await using var harness = new InferenceApiApplication(platform, settings: new Dictionary<string, string?>(ManualReaper) { ["Credits:LedgerQueueCapacity"] = "1" });
        await using var app = probe.Attach(harness);
        var credits = app.Credits();
        var holds = await credits.ReserveManyAsync("fay", 4, Units(10));
        probe.Hold();
        await credits.SettleAsync(holds[0], Units(1));
        await probe.BatchWriteArrived.WaitAsync(TimeSpan.FromSeconds(10));

        // One in flight, one queued, two that do not fit.
        foreach (var hold in holds.Skip(1))
        {
            (await credits.SettleAsync(hold, Units(2))).Status.ShouldBe(SettleStatus.Settled);
        }
        (await app.Redis().SortedSetLengthAsync(CreditKeys.LedgerPending)).ShouldBe(4);
        probe.Release();
        await app.WaitForLedgerWritesAsync(stillPending: 2);
        (await app.LedgerAsync("fay")).Count.ShouldBe(2);

        await app.AgePendingLedgerEntriesAsync();
        await app.Reaper().RedriveLedgerAsync();

        var ledger = await app.LedgerAsync("fay");
        ledger.Sum(e => e.PlanDelta).ShouldBe(-Units(7));
        ledger.Count.ShouldBe(4);
        await app.WaitForLedgerWritesAsync();
        (await credits.GetBalanceAsync("fay")).PlanUnits.ShouldBe(FreeAllocation - Units(7));
    }
}
