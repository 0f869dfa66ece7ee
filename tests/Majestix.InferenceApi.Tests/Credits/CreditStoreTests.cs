using Majestix.InferenceApi.Credits;
using Majestix.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using static Majestix.InferenceApi.Tests.Credits.CreditTestExtensions;

namespace Majestix.InferenceApi.Tests.Credits;

[Collection(PlatformCollection.Name)]
public sealed class CreditStoreTests(PlatformFixture platform)
{
    private static readonly long FreeAllocation = Units(500);

    // The reaper is driven by hand here unless a test is about it running by itself.
    private static readonly Dictionary<string, string?> ManualReaper = new() { ["Credits:ReaperIntervalMilliseconds"] = "3600000" };

    [Fact]
    public async Task ConcurrentWorstCaseReservationsOnTwoHostsNeverOverdrawAndTheLedgerMatchesTheBalanceMovement()
    {
        await using var first = new InferenceApiApplication(platform, settings: ManualReaper);
        await using var second = new InferenceApiApplication(platform, first.Isolation, ManualReaper);
        var hosts = new[] { first.Credits(), second.Credits() };
        await first.Credits().GrantAsync("ursula", CreditBucket.Topup, Units(50), "grant-start", "test");
        var worstCase = Units(40);

        // 550 credits cover 13 worst cases; 30 arrive at once on two hosts.
        var firstWave = await Task.WhenAll(Enumerable.Range(0, 30).Select(i => hosts[i % 2].ReserveAsync("ursula", worstCase)));

        firstWave.Count(r => r.Status == ReserveStatus.Reserved).ShouldBe(13);
        firstWave.Where(r => r.Status == ReserveStatus.Insufficient).ShouldAllBe(r => r.AvailableUnits == Units(30));

        // Settles (at random actual usage, some twice at once) race a second wave of reservations.
        var random = new Random(7);
        var held = firstWave.Where(r => r.Reservation is not null).Select(r => r.Reservation!).ToList();
        var settles = held.SelectMany((hold, i) =>
        {
            var actual = random.NextInt64(0, worstCase + Units(10));
            return i % 3 == 0
                ? new[] { hosts[0].SettleAsync(hold, actual), hosts[1].SettleAsync(hold, actual + 1) }
                : [hosts[i % 2].SettleAsync(hold, actual)];
        }).ToList();
        var secondWave = Enumerable.Range(0, 20).Select(i => hosts[i % 2].ReserveAsync("ursula", worstCase)).ToList();
        var settled = await Task.WhenAll(settles);
        var secondHeld = (await Task.WhenAll(secondWave)).Where(r => r.Reservation is not null).Select(r => r.Reservation!).ToList();
        settled = [.. settled, .. await Task.WhenAll(secondHeld.Select((hold, i) => hosts[i % 2].SettleAsync(hold, random.NextInt64(0, worstCase + 1))))];

        var balance = await first.Credits().GetBalanceAsync("ursula");
        await first.WaitForLedgerWritesAsync();
        var ledger = await first.LedgerAsync("ursula");
        balance.PlanUnits.ShouldBeGreaterThanOrEqualTo(0);
        balance.TopupUnits.ShouldBeGreaterThanOrEqualTo(0);
        settled.Count(s => s.Status == SettleStatus.Duplicate).ShouldBe(settles.Count - held.Count);
        var charged = settled.Where(s => s.Status == SettleStatus.Settled).Sum(s => s.ChargedUnits);
        charged.ShouldBeLessThanOrEqualTo(FreeAllocation + Units(50));
        (FreeAllocation + Units(50) - balance.TotalUnits).ShouldBe(charged);
        ledger.Count.ShouldBe(1 + settled.Count(s => s.Status == SettleStatus.Settled && s.ChargedUnits > 0));
        (FreeAllocation + ledger.Sum(e => e.PlanDelta)).ShouldBe(balance.PlanUnits);
        ledger.Sum(e => e.TopupDelta).ShouldBe(balance.TopupUnits);
    }

    [Fact]
    public async Task SettlingAHoldAgainOrConcurrentlyChargesOnceAndReturnsTheFirstResult()
    {
        await using var app = new InferenceApiApplication(platform, settings: ManualReaper);
        var credits = app.Credits();
        var first = (await credits.ReserveAsync("sam", Units(100))).Reservation!;
        var second = (await credits.ReserveAsync("sam", Units(100))).Reservation!;

        var once = await credits.SettleAsync(first, Units(30));
        var again = await credits.SettleAsync(first, Units(80));
        var racing = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => credits.SettleAsync(second, Units(10 + i))));

        once.ShouldBe(new SettleResult(SettleStatus.Settled, Units(30), 0));
        again.ShouldBe(new SettleResult(SettleStatus.Duplicate, Units(30), 0));
        racing.Count(r => r.Status == SettleStatus.Settled).ShouldBe(1);
        racing.Select(r => r.ChargedUnits).Distinct().Count().ShouldBe(1);
        var secondCharge = racing[0].ChargedUnits;
        (await credits.GetBalanceAsync("sam")).PlanUnits.ShouldBe(FreeAllocation - Units(30) - secondCharge);
        await app.WaitForLedgerWritesAsync();
        var ledger = await app.LedgerAsync("sam");
        ledger.Select(e => e.PlanDelta).Order().ShouldBe(new[] { -Units(30), -secondCharge }.Order());
    }

    [Fact]
    public async Task PlanCreditsAreSpentBeforeTopupAndUnusedCreditsGoBackToTopupFirst()
    {
        await using var app = new InferenceApiApplication(platform, settings: ManualReaper);
        var credits = app.Credits();
        await credits.GrantAsync("pia", CreditBucket.Topup, Units(100), "grant-pia", "test");

        var big = (await credits.ReserveAsync("pia", Units(550))).Reservation!;
        var whileHeld = await credits.GetBalanceAsync("pia");
        var settled = await credits.SettleAsync(big, Units(470));
        var afterSettle = await credits.GetBalanceAsync("pia");

        (big.PlanUnits, big.TopupUnits).ShouldBe((Units(500), Units(50)));
        (whileHeld.PlanUnits, whileHeld.TopupUnits).ShouldBe((0L, Units(50)));
        (settled.PlanUnits, settled.TopupUnits).ShouldBe((Units(470), 0L));
        (afterSettle.PlanUnits, afterSettle.TopupUnits).ShouldBe((Units(30), Units(100)));

        var intoTopup = (await credits.ReserveAsync("pia", Units(50))).Reservation!;
        (await credits.SettleAsync(intoTopup, Units(35))).ShouldBe(new SettleResult(SettleStatus.Settled, Units(30), Units(5)));
        var final = await credits.GetBalanceAsync("pia");
        (final.PlanUnits, final.TopupUnits).ShouldBe((0L, Units(95)));
        await app.WaitForLedgerWritesAsync();
        var ledger = await app.LedgerAsync("pia");
        ledger.Sum(e => e.PlanDelta).ShouldBe(-Units(500));
        ledger.Sum(e => e.TopupDelta).ShouldBe(Units(95));
    }

    [Fact]
    public async Task ASettleBeyondTheHoldChargesTheExcessFromThePlanThenTopupAndNeverBelowZero()
    {
        await using var app = new InferenceApiApplication(platform, settings: ManualReaper);
        var credits = app.Credits();
        await credits.GrantAsync("otto", CreditBucket.Topup, Units(100), "grant-otto", "test");

        var underHeld = (await credits.ReserveAsync("otto", Units(100))).Reservation!;
        var fromPlan = await credits.SettleAsync(underHeld, Units(450));
        var spill = (await credits.ReserveAsync("otto", Units(10))).Reservation!;
        var intoTopup = await credits.SettleAsync(spill, Units(120));
        var last = (await credits.ReserveAsync("otto", Units(10))).Reservation!;
        var shortOfIt = await credits.SettleAsync(last, Units(100));

        fromPlan.ShouldBe(new SettleResult(SettleStatus.Settled, Units(450), 0));
        intoTopup.ShouldBe(new SettleResult(SettleStatus.Settled, Units(50), Units(70)));
        // 10 held from top-up and the 20 left: the other 70 could not be covered (logged), the balance stays at zero.
        shortOfIt.ShouldBe(new SettleResult(SettleStatus.Settled, 0, Units(30)));
        var balance = await credits.GetBalanceAsync("otto");
        (balance.PlanUnits, balance.TopupUnits).ShouldBe((0L, 0L));
        await app.WaitForLedgerWritesAsync();
        var ledger = await app.LedgerAsync("otto");
        ledger.Where(e => e.Type == LedgerEntryTypes.Charge).Sum(e => -(e.PlanDelta + e.TopupDelta)).ShouldBe(Units(600));
        (await credits.RefreshAsync("otto")).TotalUnits.ShouldBe(0);
    }

    [Fact]
    public async Task ReservationsBeyondTheBalanceAreRefusedWholeWithRemainingAndRequired()
    {
        await using var app = new InferenceApiApplication(platform, settings: ManualReaper);
        var credits = app.Credits();
        (await credits.ReserveAsync("quinn", Units(499.5m))).Status.ShouldBe(ReserveStatus.Reserved);

        var refused = await credits.ReserveAsync("quinn", Units(1));

        refused.Status.ShouldBe(ReserveStatus.Insufficient);
        refused.AvailableUnits.ShouldBe(Units(0.5m));
        refused.RequiredUnits.ShouldBe(Units(1));
        refused.Plan.ShouldBe("free");
        (await credits.GetBalanceAsync("quinn")).PlanUnits.ShouldBe(Units(0.5m));
    }

    [Fact]
    public async Task TheReaperVoidsExpiredHoldsByItselfAndRecordsAnAuditEvent()
    {
        await using var app = new InferenceApiApplication(platform, settings: new Dictionary<string, string?> { ["Credits:ReaperIntervalMilliseconds"] = "100" });
        await app.CreateAuditSubscriptionAsync();
        var credits = app.Credits();
        // Two seconds, not less: the read right after must still see the hold when a busy CI box stalls in between.
        var hold = (await credits.ReserveAsync("rita", Units(120), holdTtl: TimeSpan.FromSeconds(2))).Reservation!;
        (await credits.GetBalanceAsync("rita")).PlanUnits.ShouldBe(Units(380));

        var restored = false;
        for (var attempt = 0; attempt < 100 && !restored; attempt++)
        {
            await Task.Delay(100);
            restored = (await credits.GetBalanceAsync("rita")).PlanUnits == FreeAllocation;
        }

        restored.ShouldBeTrue("the reaper returned the expired hold");
        var expired = (await app.PullAuditEventsAsync()).Where(e => e.GetProperty("event_type").GetString() == "reservation_expired").ToList();
        expired.Count.ShouldBe(1);
        expired[0].GetProperty("user_id").GetString().ShouldBe("rita");
        expired[0].GetProperty("details").GetString()!.ShouldContain(hold.HoldId);
        BigQuerySchema.Load(Path.Combine(AppContext.BaseDirectory, "schemas", "audit_events.json")).Problems(expired[0]).ShouldBeEmpty();
        (await app.LedgerAsync("rita")).ShouldBeEmpty();
    }

    [Fact]
    public async Task ASettleAfterTheReaperVoidedTheHoldChargesOnceAndOnlyWhatTheBalanceStillHas()
    {
        await using var app = new InferenceApiApplication(platform, settings: ManualReaper);
        var credits = app.Credits();
        var slow = (await credits.ReserveAsync("oscar", Units(100), holdTtl: TimeSpan.FromMilliseconds(1))).Reservation!;
        var slower = (await credits.ReserveAsync("oscar", Units(100), holdTtl: TimeSpan.FromMilliseconds(1))).Reservation!;
        await Task.Delay(50);
        (await app.Reaper().ReapAsync()).ShouldBe(2);
        (await app.Reaper().ReapAsync()).ShouldBe(0);

        var late = await credits.SettleAsync(slow, Units(30));
        var lateAgain = await credits.SettleAsync(slow, Units(30));
        var drain = (await credits.ReserveAsync("oscar", Units(460))).Reservation!;
        var lateOverdrawing = await credits.SettleAsync(slower, Units(90));

        late.ShouldBe(new SettleResult(SettleStatus.Late, Units(30), 0));
        lateAgain.Status.ShouldBe(SettleStatus.Duplicate);
        lateOverdrawing.ShouldBe(new SettleResult(SettleStatus.Late, Units(10), 0));
        (await credits.GetBalanceAsync("oscar")).TotalUnits.ShouldBe(0);
        await credits.SettleAsync(drain, Units(460));
        await app.WaitForLedgerWritesAsync();
        var ledger = await app.LedgerAsync("oscar");
        ledger.Sum(e => e.PlanDelta).ShouldBe(-FreeAllocation);
        (await credits.GetBalanceAsync("oscar")).TotalUnits.ShouldBe(0);
    }

    [Fact]
    public async Task ASettledRecordIsForgottenARetentionAfterItsEntryIsWrittenAndNeverWhileTheEntryIsPending()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        // The writer waits a second (real time) before its batch: the clock has moved on by then.
        await using var harness = new InferenceApiApplication(platform, settings: new Dictionary<string, string?>(ManualReaper) { ["Credits:LedgerBatchDelayMilliseconds"] = "1000" });
        await using var app = harness.WithWebHostBuilder(web => web.ConfigureTestServices(services => services.AddSingleton<TimeProvider>(clock)));
        var (credits, redis, reaper) = (app.Credits(), app.Redis(), app.Reaper());
        var hold = (await credits.ReserveAsync("ulla", Units(10))).Reservation!;
        await credits.SettleAsync(hold, Units(4));
        var member = CreditKeys.HoldMember("ulla", hold.HoldId);
        long ForgetAt() => (clock.GetUtcNow() + TimeSpan.FromMinutes(15)).ToUnixTimeMilliseconds();

        clock.Advance(TimeSpan.FromMinutes(5));
        await app.WaitForLedgerWritesAsync();
        (await redis.SortedSetScoreAsync(CreditKeys.HoldExpiry, member)).ShouldBe(ForgetAt(), "a full retention past the entry's confirmation");

        // The entry pending again (a write that failed): the record is kept, however late the reaper looks.
        await redis.SortedSetAddAsync(CreditKeys.LedgerPending, member, clock.GetUtcNow().ToUnixTimeMilliseconds());
        clock.Advance(TimeSpan.FromMinutes(16));
        await reaper.ReapAsync();
        ((string?)await redis.HashGetAsync(CreditKeys.Holds("ulla"), hold.HoldId))!.ShouldStartWith("settled|");
        (await redis.SortedSetScoreAsync(CreditKeys.HoldExpiry, member)).ShouldBe(ForgetAt());

        // The re-drive confirms it (the entry is there already), and a retention later it is forgotten.
        await reaper.RedriveLedgerAsync();
        (await redis.SortedSetLengthAsync(CreditKeys.LedgerPending)).ShouldBe(0);
        clock.Advance(TimeSpan.FromMinutes(14));
        await reaper.ReapAsync();
        (await redis.HashExistsAsync(CreditKeys.Holds("ulla"), hold.HoldId)).ShouldBeTrue();
        clock.Advance(TimeSpan.FromMinutes(2));
        await reaper.ReapAsync();
        (await redis.HashExistsAsync(CreditKeys.Holds("ulla"), hold.HoldId)).ShouldBeFalse();
        (await redis.SortedSetScoreAsync(CreditKeys.HoldExpiry, member)).ShouldBeNull();

        // A settle retried after that finds no record and charges nothing again.
        (await credits.SettleAsync(hold, Units(4))).ChargedUnits.ShouldBe(0);
        (await credits.GetBalanceAsync("ulla")).TotalUnits.ShouldBe(FreeAllocation - Units(4));
        (await app.LedgerAsync("ulla")).ShouldHaveSingleItem().PlanDelta.ShouldBe(-Units(4));
    }

    [Fact]
    public async Task AVoidedRecordIsKeptForTheLongerRetentionSoALateSettleStillChargesOnce()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var harness = new InferenceApiApplication(platform, settings: ManualReaper);
        await using var app = harness.WithWebHostBuilder(web => web.ConfigureTestServices(services => services.AddSingleton<TimeProvider>(clock)));
        var (credits, redis, reaper) = (app.Credits(), app.Redis(), app.Reaper());
        var hold = (await credits.ReserveAsync("vera", Units(10), holdTtl: TimeSpan.FromMinutes(1))).Reservation!;

        clock.Advance(TimeSpan.FromMinutes(2));
        (await reaper.ReapAsync()).ShouldBe(1);
        clock.Advance(TimeSpan.FromHours(23));
        await reaper.ReapAsync();
        ((string?)await redis.HashGetAsync(CreditKeys.Holds("vera"), hold.HoldId))!.ShouldStartWith("voided|");
        (await credits.SettleAsync(hold, Units(3))).ShouldBe(new SettleResult(SettleStatus.Late, Units(3), 0));
        await app.WaitForLedgerWritesAsync();
        (await app.LedgerAsync("vera")).ShouldHaveSingleItem().PlanDelta.ShouldBe(-Units(3));
    }

    [Fact]
    public async Task AfterRedisLosesItsDataTheNextReservationRebuildsTheExactBalance()
    {
        await using var app = new InferenceApiApplication(platform, settings: ManualReaper);
        var credits = app.Credits();
        await credits.GrantAsync("nina", CreditBucket.Topup, Units(100), "grant-nina", "test");
        foreach (var actual in new[] { 180.5m, 199.333333m, 150m })
        {
            var hold = (await credits.ReserveAsync("nina", Units(200))).Reservation!;
            await credits.SettleAsync(hold, Units(actual));
        }
        var before = await credits.GetBalanceAsync("nina");
        var settlesBeforeTheRebuild = (await credits.ReserveAsync("nina", Units(20))).Reservation!;
        var settlesAfterTheRebuild = (await credits.ReserveAsync("nina", Units(20))).Reservation!;
        // The settled charges are in the ledger before Redis goes (their pending markers go with it).
        await app.WaitForLedgerWritesAsync();

        await app.DropRedisDataAsync(app.Isolation.KeyPrefix);
        var ledgerOnly = await credits.SettleAsync(settlesBeforeTheRebuild, Units(15));
        var afterLoss = (await credits.ReserveAsync("nina", Units(10))).Reservation!;
        var unbilled = await credits.SettleAsync(settlesAfterTheRebuild, Units(15));
        var rebuilt = await credits.GetBalanceAsync("nina");

        (before.PlanUnits, before.TopupUnits).ShouldBe((0L, Units(100) - Units(29.833333m)));
        ledgerOnly.ShouldBe(new SettleResult(SettleStatus.Lost, 0, Units(15)));
        unbilled.ShouldBe(new SettleResult(SettleStatus.Lost, 0, 0));
        (rebuilt.PlanUnits + afterLoss.PlanUnits, rebuilt.TopupUnits + afterLoss.TopupUnits).ShouldBe((before.PlanUnits, before.TopupUnits - Units(15)));
        (rebuilt.CycleStart, rebuilt.CycleEnd).ShouldBe((before.CycleStart, before.CycleEnd));
        await credits.SettleAsync(afterLoss, Units(10));
        await app.WaitForLedgerWritesAsync();
        var ledger = await app.LedgerAsync("nina");
        (FreeAllocation + ledger.Sum(e => e.PlanDelta), ledger.Sum(e => e.TopupDelta)).ShouldBe(((await credits.GetBalanceAsync("nina")).PlanUnits, rebuilt.TopupUnits));
    }

    [Fact]
    public async Task TheReaperWritesLedgerEntriesThatASettleCouldNotConfirm()
    {
        await using var app = new InferenceApiApplication(platform, settings: ManualReaper);
        var credits = app.Credits();
        var hold = (await credits.ReserveAsync("lena", Units(50))).Reservation!;
        await credits.SettleAsync(hold, Units(42.5m));
        await app.WaitForLedgerWritesAsync();
        // What a settle leaves when its ledger write fails: the Redis record and the pending marker, no entry.
        await app.Firestore.DeleteAsync($"users/lena/ledger/{hold.HoldId}");
        await app.Redis.SortedSetAddAsync(CreditKeys.LedgerPending, CreditKeys.HoldMember("lena", hold.HoldId), 0);

        await app.Reaper().RedriveLedgerAsync();

        var entry = (await app.LedgerAsync("lena")).ShouldHaveSingleItem();
        (entry.Type, entry.PlanDelta, entry.TopupDelta).ShouldBe((LedgerEntryTypes.Charge, -Units(42.5m), 0L));
        (await app.Redis.SortedSetLengthAsync(CreditKeys.LedgerPending)).ShouldBe(0);
    }

    [Fact]
    public async Task ARebuildWhileAChargesLedgerEntryIsPendingCountsItExactlyOnce()
    {
        var probe = new FirestoreProbe();
        await using var harness = new InferenceApiApplication(platform, settings: ManualReaper);
        await using var app = probe.Attach(harness);
        var credits = app.Credits();
        await credits.GrantAsync("gus", CreditBucket.Topup, Units(100), "grant-gus", "test");
        var big = (await credits.ReserveAsync("gus", Units(550))).Reservation!;
        probe.Hold();

        // The ledger writer is stuck: the charge is settled in Redis, pending, not in the ledger.
        (await credits.SettleAsync(big, Units(520))).ShouldBe(new SettleResult(SettleStatus.Settled, Units(500), Units(20)));
        await probe.BatchWriteArrived.WaitAsync(TimeSpan.FromSeconds(10));
        var outstanding = (await credits.ReserveAsync("gus", Units(30))).Reservation!;
        var whilePending = await credits.RefreshAsync("gus");
        await credits.RebuildAsync("gus", replace: true);
        var rebuiltWhilePending = await credits.GetBalanceAsync("gus");
        (await app.LedgerAsync("gus")).Count.ShouldBe(1, "only the grant");

        probe.Release();
        await app.WaitForLedgerWritesAsync();
        var afterWrite = await credits.RefreshAsync("gus");
        // Written, its marker not cleared yet: the ledger read has it, so the load must not take it again.
        await app.Redis().SortedSetAddAsync(CreditKeys.LedgerPending, CreditKeys.HoldMember("gus", big.HoldId), 0);
        var writtenStillMarked = await credits.RefreshAsync("gus");

        outstanding.TopupUnits.ShouldBe(Units(30));
        (whilePending.PlanUnits, whilePending.TopupUnits).ShouldBe((0L, Units(50)));
        rebuiltWhilePending.ShouldBe(whilePending);
        afterWrite.ShouldBe(whilePending);
        writtenStillMarked.ShouldBe(whilePending);
        var charge = (await app.LedgerAsync("gus")).Single(e => e.Type == LedgerEntryTypes.Charge);
        (charge.PlanDelta, charge.TopupDelta).ShouldBe((-Units(500), -Units(20)));
    }

    [Fact]
    public async Task ARebuildCountsAChargeWhoseEntryIsWrittenAndConfirmedWhileItReadsTheLedger()
    {
        var probe = new FirestoreProbe();
        await using var harness = new InferenceApiApplication(platform, settings: ManualReaper);
        await using var app = probe.Attach(harness);
        var credits = app.Credits();
        var hold = (await credits.ReserveAsync("hugo", Units(100))).Reservation!;
        probe.Hold();
        await credits.SettleAsync(hold, Units(40));
        await probe.BatchWriteArrived.WaitAsync(TimeSpan.FromSeconds(10));

        // The rebuild's ledger read runs before the entry is written; its answer arrives after the writer
        // has written the entry and cleared the pending marker.
        probe.HoldQueryAnswers();
        var refreshing = credits.RefreshAsync("hugo");
        await probe.QueryAnswered.WaitAsync(TimeSpan.FromSeconds(10));
        probe.Release();
        await app.WaitForLedgerWritesAsync();
        probe.ReleaseQueryAnswers();
        var refreshed = await refreshing;

        refreshed.PlanUnits.ShouldBe(FreeAllocation - Units(40));
        (await credits.RefreshAsync("hugo")).PlanUnits.ShouldBe(FreeAllocation - Units(40));
        (await app.LedgerAsync("hugo")).ShouldHaveSingleItem().PlanDelta.ShouldBe(-Units(40));
    }

    [Fact]
    public async Task ThePlanBucketResetsToTheAllocationWhenTheCycleEndsAndTopupsCarryOver()
    {
        var signUp = new DateTimeOffset(2026, 1, 31, 10, 0, 0, TimeSpan.Zero);
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 2, 15, 0, 0, 0, TimeSpan.Zero));
        await using var harness = new InferenceApiApplication(platform, settings: ManualReaper);
        await using var app = harness.WithWebHostBuilder(web => web.ConfigureTestServices(services => services.AddSingleton<TimeProvider>(clock)));
        await app.SeedCreditUserAsync("tara", "free", signUp);
        var credits = app.Credits();
        await credits.GrantAsync("tara", CreditBucket.Topup, Units(10), "grant-tara", "test");
        var spent = (await credits.ReserveAsync("tara", Units(100))).Reservation!;
        await credits.SettleAsync(spent, Units(100));
        var straddling = (await credits.ReserveAsync("tara", Units(50), holdTtl: TimeSpan.FromDays(60))).Reservation!;
        var february = await credits.GetBalanceAsync("tara");

        clock.SetUtcNow(new DateTimeOffset(2026, 2, 28, 10, 0, 0, TimeSpan.Zero));
        var inMarch = (await credits.ReserveAsync("tara", Units(5))).Reservation!;
        await credits.SettleAsync(inMarch, Units(5));
        var oldCycleSettle = await credits.SettleAsync(straddling, Units(20));
        var march = await credits.GetBalanceAsync("tara");
        await app.WaitForLedgerWritesAsync();
        await app.DropRedisDataAsync(harness.Isolation.KeyPrefix);
        var rebuilt = await credits.GetBalanceAsync("tara");

        (february.PlanUnits, february.TopupUnits).ShouldBe((Units(350), Units(10)));
        (february.CycleStart, february.CycleEnd).ShouldBe((signUp, new DateTimeOffset(2026, 2, 28, 10, 0, 0, TimeSpan.Zero)));
        oldCycleSettle.ShouldBe(new SettleResult(SettleStatus.Settled, Units(20), 0));
        (march.PlanUnits, march.TopupUnits).ShouldBe((Units(495), Units(10)), "the old cycle's hold returns nothing to the new cycle");
        march.CycleStart.ShouldBe(new DateTimeOffset(2026, 2, 28, 10, 0, 0, TimeSpan.Zero));
        march.CycleEnd.ShouldBe(new DateTimeOffset(2026, 3, 31, 10, 0, 0, TimeSpan.Zero));
        rebuilt.ShouldBe(march);
    }

    [Fact]
    public async Task WithRedisDownRejectPropagatesAndAllowRunsUnenforcedWritingTheLedgerOnly()
    {
        var redis = new RedisServerFixture();
        await redis.InitializeAsync();
        try
        {
            Dictionary<string, string?> Settings(string policy) => new(ManualReaper)
            {
                ["ConnectionStrings:redis"] = redis.ConnectionString,
                ["REDIS_FAILURE_POLICY"] = policy,
            };
            await using var rejecting = new InferenceApiApplication(platform, settings: Settings("reject"));
            await using var allowing = new InferenceApiApplication(platform, settings: Settings("allow"));
            using var web = rejecting.WebClient("victor");
            (await rejecting.Credits().GetBalanceAsync("victor")).PlanUnits.ShouldBe(FreeAllocation);
            await allowing.Credits().GetBalanceAsync("wendy");

            redis.Stop();

            await Should.ThrowAsync<Redis.RedisUnavailableException>(() => rejecting.Credits().ReserveAsync("victor", Units(1)));
            var refresh = await web.PostAsync(new Uri("/credits/refresh", UriKind.Relative), null);
            refresh.StatusCode.ShouldBe(System.Net.HttpStatusCode.ServiceUnavailable);
            var unenforced = await allowing.Credits().ReserveAsync("wendy", Units(10_000));
            unenforced.Status.ShouldBe(ReserveStatus.Unenforced);
            var settled = await allowing.Credits().SettleAsync(unenforced.Reservation!, Units(12));
            settled.ShouldBe(new SettleResult(SettleStatus.Unenforced, Units(12), 0));
            var entry = (await allowing.LedgerAsync("wendy")).ShouldHaveSingleItem();
            (entry.PlanDelta, entry.Unenforced).ShouldBe((-Units(12), true));
        }
        finally
        {
            await redis.DisposeAsync();
        }
    }
}
