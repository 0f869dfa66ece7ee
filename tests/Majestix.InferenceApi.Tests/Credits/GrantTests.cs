using Majestix.GoogleCloud.Firestore;
using Majestix.InferenceApi.Credits;
using Microsoft.Extensions.DependencyInjection;
using static Majestix.InferenceApi.Tests.Credits.CreditTestExtensions;

namespace Majestix.InferenceApi.Tests.Credits;

/// <summary>Grants reach the hot balance exactly once, whatever runs between their ledger write and their Redis apply.</summary>
[Collection(PlatformCollection.Name)]
public sealed class GrantTests(PlatformFixture platform)
{
    private static readonly long FreeAllocation = Units(500);

    private static readonly Dictionary<string, string?> ManualReaper = new() { ["Credits:ReaperIntervalMilliseconds"] = "3600000" };

    [Fact]
    public async Task ARefreshBetweenTheLedgerWriteAndTheRedisApplyCountsTheGrantOnce()
    {
        var probe = new FirestoreProbe();
        await using var harness = new InferenceApiApplication(platform, settings: ManualReaper);
        await using var app = probe.Attach(harness);
        var credits = app.Credits();
        await app.SeedCreditUserAsync("hana", "free", DateTimeOffset.UtcNow.AddDays(-3));
        (await credits.GetBalanceAsync("hana")).TotalUnits.ShouldBe(FreeAllocation);

        probe.HoldCommitAnswers();
        var granting = credits.GrantAsync("hana", CreditBucket.Topup, Units(40), "grant-between", "test");
        await probe.CommitApplied.WaitAsync(TimeSpan.FromSeconds(10));
        // The entry is in the ledger, the grant not yet in Redis: a refresh reads the entry and loads it.
        var refreshed = await credits.RefreshAsync("hana");
        probe.ReleaseCommitAnswers();
        var granted = await granting;

        refreshed.TopupUnits.ShouldBe(Units(40));
        granted.Duplicate.ShouldBeFalse();
        (await credits.GetBalanceAsync("hana")).TopupUnits.ShouldBe(Units(40), "the apply finds the grant counted by the refresh");
        (await credits.RefreshAsync("hana")).TopupUnits.ShouldBe(Units(40));
    }

    [Fact]
    public async Task ARebuildOfALostBalanceBetweenTheLedgerWriteAndTheRedisApplyCountsTheGrantOnce()
    {
        var probe = new FirestoreProbe();
        await using var harness = new InferenceApiApplication(platform, settings: ManualReaper);
        await using var app = probe.Attach(harness);
        var credits = app.Credits();
        await app.SeedCreditUserAsync("ines", "free", DateTimeOffset.UtcNow.AddDays(-3));
        await credits.GetBalanceAsync("ines");

        probe.HoldCommitAnswers();
        var granting = credits.GrantAsync("ines", CreditBucket.Topup, Units(25), "grant-lost-balance", "test");
        await probe.CommitApplied.WaitAsync(TimeSpan.FromSeconds(10));
        await app.Redis().KeyDeleteAsync(CreditKeys.Balance("ines"));
        var rebuilt = await credits.GetBalanceAsync("ines");
        probe.ReleaseCommitAnswers();
        await granting;

        rebuilt.TopupUnits.ShouldBe(Units(25));
        (await credits.GetBalanceAsync("ines")).TotalUnits.ShouldBe(FreeAllocation + Units(25));
    }

    [Fact]
    public async Task AGrantWhoseApplyNeverRanIsFinishedOnceByARetryWithTheSameKey()
    {
        var probe = new FirestoreProbe();
        await using var harness = new InferenceApiApplication(platform, settings: ManualReaper);
        await using var app = probe.Attach(harness);
        var credits = app.Credits();
        await app.SeedCreditUserAsync("jade", "free", DateTimeOffset.UtcNow.AddDays(-3));
        await credits.GetBalanceAsync("jade");

        // The ledger write happens, its answer is lost: the call fails between the ledger and Redis.
        probe.LoseCommitAnswers = true;
        await Should.ThrowAsync<FirestoreException>(() => credits.GrantAsync("jade", CreditBucket.Topup, Units(30), "grant-retried", "test"));
        probe.LoseCommitAnswers = false;
        var beforeRetry = await credits.GetBalanceAsync("jade");
        var retried = await credits.GrantAsync("jade", CreditBucket.Topup, Units(30), "grant-retried", "test");
        var again = await credits.GrantAsync("jade", CreditBucket.Topup, Units(30), "grant-retried", "test");

        (await app.LedgerAsync("jade")).ShouldHaveSingleItem().TopupDelta.ShouldBe(Units(30));
        beforeRetry.TopupUnits.ShouldBe(0);
        retried.Duplicate.ShouldBeFalse("the retry applied what the first call left undone");
        again.Duplicate.ShouldBeTrue();
        (await credits.GetBalanceAsync("jade")).TopupUnits.ShouldBe(Units(30));
        (await credits.RefreshAsync("jade")).TopupUnits.ShouldBe(Units(30));
    }

    [Fact]
    public async Task AGrantWhoseApplyNeverRanIsFinishedOnceByTheReaper()
    {
        var probe = new FirestoreProbe();
        await using var harness = new InferenceApiApplication(platform, settings: ManualReaper);
        await using var app = probe.Attach(harness);
        var credits = app.Credits();
        await app.SeedCreditUserAsync("kira", "free", DateTimeOffset.UtcNow.AddDays(-3));
        await credits.GetBalanceAsync("kira");
        probe.LoseCommitAnswers = true;
        await Should.ThrowAsync<FirestoreException>(() => credits.GrantAsync("kira", CreditBucket.Topup, Units(15), "grant-reaped", "test"));
        // A second grant that never got as far as the ledger (Firestore down for the whole call).
        probe.LoseCommitAnswers = false;
        probe.Unavailable = true;
        await Should.ThrowAsync<FirestoreException>(() => credits.GrantAsync("kira", CreditBucket.Topup, Units(5), "grant-unwritten", "test"));
        probe.Unavailable = false;

        (await credits.RedriveGrantsAsync(TimeSpan.FromSeconds(30))).ShouldBe(0, "not before the grace");
        await AgePendingGrantsAsync(app.Redis());
        var applied = await app.Reaper().RedriveGrantsAsync();
        var appliedAgain = await app.Reaper().RedriveGrantsAsync();

        applied.ShouldBe(2);
        appliedAgain.ShouldBe(0);
        (await app.LedgerAsync("kira")).Select(e => e.TopupDelta).Order().ShouldBe([Units(5), Units(15)]);
        (await credits.GetBalanceAsync("kira")).TopupUnits.ShouldBe(Units(20));
        (await credits.GrantAsync("kira", CreditBucket.Topup, Units(15), "grant-reaped", "test")).Duplicate.ShouldBeTrue();
        (await credits.GetBalanceAsync("kira")).TopupUnits.ShouldBe(Units(20));
        (await app.Redis().SortedSetLengthAsync(CreditKeys.GrantsPending)).ShouldBe(0);
    }

    [Fact]
    public async Task ConcurrentGrantsWithOneKeyOnTwoHostsGrantOnce()
    {
        await using var first = new InferenceApiApplication(platform, settings: ManualReaper);
        await using var second = new InferenceApiApplication(platform, first.Isolation, ManualReaper);
        await first.SeedCreditUserAsync("lena", "free", DateTimeOffset.UtcNow.AddDays(-3));
        await first.Credits().GetBalanceAsync("lena");
        var hosts = new[] { first.Credits(), second.Credits() };

        var results = await Task.WhenAll(Enumerable.Range(0, 12).Select(i =>
            hosts[i % 2].GrantAsync("lena", CreditBucket.Topup, Units(70), "grant-once", "test")));
        // Rebuilds racing the grants must not count it twice either.
        await Task.WhenAll(hosts.Select(host => host.RefreshAsync("lena")));

        results.Count(r => !r.Duplicate).ShouldBe(1);
        results.ShouldAllBe(r => !r.Conflict);
        (await first.LedgerAsync("lena")).ShouldHaveSingleItem().TopupDelta.ShouldBe(Units(70));
        (await first.Credits().GetBalanceAsync("lena")).TopupUnits.ShouldBe(Units(70));
    }

    [Fact]
    public async Task GrantsRacingRefreshesAreEachCountedOnce()
    {
        await using var first = new InferenceApiApplication(platform, settings: ManualReaper);
        await using var second = new InferenceApiApplication(platform, first.Isolation, ManualReaper);
        await first.SeedCreditUserAsync("mona", "free", DateTimeOffset.UtcNow.AddDays(-3));
        await first.Credits().GetBalanceAsync("mona");

        var grants = Enumerable.Range(0, 20).Select(i => first.Credits().GrantAsync("mona", CreditBucket.Topup, Units(1 + i), $"grant-race-{i}", "test"));
        var refreshes = Enumerable.Range(0, 20).Select(async i =>
        {
            await Task.Delay(i * 5);
            await (i % 2 == 0 ? second : first).Credits().RefreshAsync("mona");
        });
        await Task.WhenAll([.. grants, .. refreshes]);

        var expected = Enumerable.Range(0, 20).Sum(i => Units(1 + i));
        (await first.Credits().GetBalanceAsync("mona")).TopupUnits.ShouldBe(expected);
        (await first.Credits().RefreshAsync("mona")).TopupUnits.ShouldBe(expected);
    }

    private static async Task AgePendingGrantsAsync(StackExchange.Redis.IDatabase redis)
    {
        foreach (var member in await redis.SortedSetRangeByRankAsync(CreditKeys.GrantsPending))
        {
            await redis.SortedSetAddAsync(CreditKeys.GrantsPending, member, DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds());
        }
    }
}
