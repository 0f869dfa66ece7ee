using Majestix.GoogleCloud.Firestore;
using Majestix.Testing;

namespace Majestix.GoogleCloud.Tests;

[Collection(FirestoreCollection.Name)]
public sealed class FirestoreTransactionTests(FirestoreEmulatorFixture emulator) : FirestoreTestBase(emulator)
{
    [Fact]
    public async Task ConcurrentTransactionalIncrementsAreAppliedExactlyOnce()
    {
        const int Increments = 50;
        // The emulator settles a commit blocked by other transactions' read locks with a 2 s lock
        // timeout (ABORTED) and, with all 50 in flight at once, was seen to stall for minutes on a
        // loaded 2-core machine; 10 in flight keeps the contention real and the run time bounded.
        const int InFlight = 10;
        await Firestore.CreateAsync("counters/c1", new Counter(0), TestJsonContext.Default.Counter);
        var options = new FirestoreTransactionOptions
        {
            // Full jitter over a quickly doubling window spreads the contenders out after a collision.
            MaxAttempts = 40,
            InitialBackoff = TimeSpan.FromMilliseconds(500),
            BackoffMultiplier = 2,
            MaxBackoff = TimeSpan.FromSeconds(8),
        };
        using var gate = new SemaphoreSlim(InFlight);
        var attempts = 0;

        var seenValues = await Task.WhenAll(Enumerable.Range(0, Increments).Select(async _ =>
        {
            await gate.WaitAsync();
            try
            {
                return await Firestore.RunTransactionAsync(
                    async transaction =>
                    {
                        Interlocked.Increment(ref attempts);
                        var current = (await transaction.GetAsync("counters/c1"))!.ConvertTo(TestJsonContext.Default.Counter);
                        transaction.Set("counters/c1", current with { Value = current.Value + 1 }, TestJsonContext.Default.Counter);
                        return current.Value;
                    },
                    options);
            }
            finally
            {
                gate.Release();
            }
        }));

        (await Firestore.GetAsync("counters/c1", TestJsonContext.Default.Counter))!.Value.ShouldBe(Increments);
        // Every committed attempt saw a distinct predecessor: no increment was lost or applied twice.
        seenValues.Order().ShouldBe(Enumerable.Range(0, Increments).Select(i => (long)i));
        // Contention really happened: some callbacks ran more than once.
        attempts.ShouldBeGreaterThan(Increments);
    }

    [Fact]
    public async Task TransactionRetriesTheWholeCallbackWhenCommitIsAborted()
    {
        await Firestore.CreateAsync("counters/c1", new Counter(10), TestJsonContext.Default.Counter);
        var abortFirstCommit = new FailingRequestHandler(":commit", 1, System.Net.HttpStatusCode.Conflict, "ABORTED");
        var recorder = new RecordingHandler();
        var client = CreateClient(recorder, abortFirstCommit);
        var attempts = new List<int>();

        var seen = await client.RunTransactionAsync(
            async transaction =>
            {
                attempts.Add(transaction.Attempt);
                var current = (await transaction.GetAsync("counters/c1"))!.ConvertTo(TestJsonContext.Default.Counter);
                transaction.Set("counters/c1", current with { Value = current.Value + 1 }, TestJsonContext.Default.Counter);
                return current.Value;
            },
            new FirestoreTransactionOptions { InitialBackoff = TimeSpan.FromMilliseconds(10) });

        seen.ShouldBe(10);
        attempts.ShouldBe([1, 2]);
        abortFirstCommit.Attempts.ShouldBe(2);
        (await Firestore.GetAsync("counters/c1", TestJsonContext.Default.Counter))!.Value.ShouldBe(11);
        var begins = recorder.Requests.Where(r => r.Uri.AbsolutePath.EndsWith(":beginTransaction", StringComparison.Ordinal)).ToList();
        begins.Count.ShouldBe(2);
        begins[1].Body!.ShouldContain("retryTransaction");
    }

    [Fact]
    public async Task TransactionGivesUpAfterMaxAttempts()
    {
        await Firestore.CreateAsync("counters/c1", new Counter(0), TestJsonContext.Default.Counter);
        var alwaysAbort = new FailingRequestHandler(":commit", int.MaxValue, System.Net.HttpStatusCode.Conflict, "ABORTED");
        var client = CreateClient(alwaysAbort);

        var error = await Should.ThrowAsync<FirestoreException>(() => client.RunTransactionAsync(
            transaction =>
            {
                transaction.Set("counters/c1", new Counter(1), TestJsonContext.Default.Counter);
                return Task.CompletedTask;
            },
            new FirestoreTransactionOptions { MaxAttempts = 3, InitialBackoff = TimeSpan.FromMilliseconds(1) }));

        error.Kind.ShouldBe(FirestoreErrorKind.Aborted);
        alwaysAbort.Attempts.ShouldBe(3);
    }

    [Fact]
    public async Task TransactionCommitsNothingWhenTheCallbackThrows()
    {
        await Firestore.CreateAsync("counters/c1", new Counter(1), TestJsonContext.Default.Counter);

        await Should.ThrowAsync<InvalidOperationException>(() => Firestore.RunTransactionAsync(async transaction =>
        {
            await transaction.GetAsync("counters/c1");
            transaction.Set("counters/c1", new Counter(2), TestJsonContext.Default.Counter);
            transaction.Create("ledger/l1", Fields(("delta", 1L)));
            throw new InvalidOperationException("business rule failed");
        }));

        (await Firestore.GetAsync("counters/c1", TestJsonContext.Default.Counter))!.Value.ShouldBe(1);
        (await Firestore.GetAsync("ledger/l1")).ShouldBeNull();
        // The rollback released the lock: a plain write goes through at once.
        await Firestore.SetAsync("counters/c1", new Counter(3), TestJsonContext.Default.Counter);
    }

    [Fact]
    public async Task TransactionQueriesAndPreconditionFailuresSurfaceTypedErrors()
    {
        await Firestore.CreateAsync("ledger/l1", Fields(("user", "u1"), ("delta", 5L)));
        await Firestore.CreateAsync("ledger/l2", Fields(("user", "u1"), ("delta", 7L)));

        var total = await Firestore.RunTransactionAsync(async transaction =>
        {
            var entries = await transaction.QueryAsync(Firestore.Collection("ledger").Where("user", FirestoreFilterOperator.Equal, "u1"));
            var sum = entries.Sum(e => e.Fields["delta"].IntegerValue);
            transaction.Set("balances/u1", Fields(("total", sum)));
            return sum;
        });
        var error = await Should.ThrowAsync<FirestoreException>(() => Firestore.RunTransactionAsync(async transaction =>
        {
            await transaction.GetAsync("balances/u1");
            transaction.Create("balances/u1", Fields(("total", 0L)));
        }));

        total.ShouldBe(12);
        (await Firestore.GetAsync("balances/u1"))!.Fields["total"].IntegerValue.ShouldBe(12);
        error.Kind.ShouldBe(FirestoreErrorKind.AlreadyExists);
    }
}
