using System.Collections.Concurrent;
using Majestix.GoogleCloud.Firestore;
using Majestix.InferenceApi.Identity;
using Microsoft.Extensions.Options;

namespace Majestix.InferenceApi.Credits;

/// <summary>
/// What the balance is computed from: plan, allocation and the anchor of the plan cycles. A plan paid by a subscription
/// holds its period (<paramref name="HoldsPeriod"/>): past its end it does not roll into a new one with a fresh allocation,
/// since the next period starts only when its invoice is paid (a renewal Stripe is still retrying gives nothing yet).
/// </summary>
internal sealed record CreditProfile(Plan Plan, long AllocationUnits, DateTimeOffset Anchor, DateTimeOffset FirstCycleEnd, bool HoldsPeriod = false)
{
    public CreditCycle CycleAt(DateTimeOffset now) =>
        HoldsPeriod ? new CreditCycle(0, CreditCycle.ToMilliseconds(Anchor), CreditCycle.ToMilliseconds(FirstCycleEnd)) : CreditCycle.Containing(Anchor, FirstCycleEnd, now);
}

/// <summary>The ledger's balance as of <paramref name="ReadTime"/>, and which of the entries asked about it counts.</summary>
internal sealed record LedgerBalance(CreditProfile Profile, CreditCycle Cycle, long PlanUnits, long TopupUnits, IReadOnlySet<string> Counted, DateTimeOffset ReadTime);

/// <summary>
/// The durable side of credits: <c>users/{uid}</c> (plan, allocation in micro-credits, cycle) and the
/// append-only ledger under it. Every write is a create of a document whose id is the idempotency key,
/// so a retried write can never count twice, committed together with the sums it changes (<see cref="LedgerAggregates"/>),
/// from which balances and usage are read.
/// </summary>
internal sealed class CreditLedger(FirestoreClient firestore, IOptions<CreditOptions> options, TimeProvider time)
{
    // The one-time folds of legacy entries under way, by user: requests of one user that arrive together share one.
    private readonly ConcurrentDictionary<string, Lazy<Task>> _folds = new(StringComparer.Ordinal);

    public static string UserPath(string userId) => $"users/{userId}";

    public static string EntryPath(string userId, string entryId) => $"users/{userId}/ledger/{entryId}";

    /// <summary>
    /// Reads the user document. Free cycles run monthly from sign-up (<c>created_at</c>, else the
    /// document's creation); paid plans use the stored cycle. A user without a document is Free from now
    /// on, and the document is created so the cycle stays put.
    /// </summary>
    public async Task<CreditProfile> GetOrCreateProfileAsync(string userId, CancellationToken cancellationToken)
    {
        var document = await firestore.GetAsync(UserPath(userId), cancellationToken);
        if (document is null)
        {
            var now = CreditCycle.ToMilliseconds(time.GetUtcNow());
            var created = new CreditProfile(Plan.Free, options.Value.AllocationUnits(Plan.Free), now, now.AddMonths(1));
            try
            {
                await firestore.CreateAsync(UserPath(userId), new Dictionary<string, FirestoreValue>
                {
                    ["uid"] = userId,
                    ["plan"] = Plan.Free.WireName(),
                    ["created_at"] = now,
                    ["allocation"] = created.AllocationUnits,
                    ["billing_cycle_start"] = created.Anchor,
                    ["billing_cycle_end"] = created.FirstCycleEnd,
                }, cancellationToken);
                return created;
            }
            catch (FirestoreException exception) when (exception.Kind == FirestoreErrorKind.AlreadyExists)
            {
                document = await firestore.GetAsync(UserPath(userId), cancellationToken)
                    ?? throw new InvalidOperationException("The user document vanished while it was being created.");
            }
        }
        return ProfileOf(document);
    }

    private CreditProfile ProfileOf(FirestoreDocument document)
    {
        var plan = Plans.Parse(String(document, "plan"));
        var allocation = Number(document, "allocation") ?? options.Value.AllocationUnits(plan);
        var signedUp = Timestamp(document, "created_at") ?? document.CreateTime;
        if (plan == Plan.Free)
        {
            return new CreditProfile(plan, allocation, signedUp, signedUp.AddMonths(1));
        }
        var start = Timestamp(document, "billing_cycle_start") ?? signedUp;
        return new CreditProfile(plan, allocation, start, Timestamp(document, "billing_cycle_end") ?? start.AddMonths(1),
            HoldsPeriod: String(document, "plan_subscription_id") is not null);
    }

    // Entries and the aggregates that count them go in one commit, which holds at most 500 writes (an entry, or an aggregate document).
    private const int WritesPerCommit = 500;

    /// <summary>
    /// Appends an entry and its aggregates (<see cref="LedgerAggregates"/>) atomically; false when an entry with this
    /// id already exists (nothing is written). Every ledger write goes through here or <see cref="AppendBatchAsync"/>.
    /// </summary>
    public async Task<bool> AppendAsync(string userId, string entryId, LedgerEntry entry, CancellationToken cancellationToken)
    {
        try
        {
            await CommitAsync([(userId, entryId, entry)], cancellationToken);
            return true;
        }
        catch (FirestoreException exception) when (exception.Kind == FirestoreErrorKind.AlreadyExists)
        {
            return false;
        }
    }

    /// <summary>
    /// Appends entries and their aggregates, many to a commit; per entry, true when it is in the ledger (written now,
    /// or an entry with its id was already there) and false when its write failed. A commit that meets an entry
    /// already written is retried entry by entry. A failure of a request itself throws, and then the entries of
    /// that commit were not written (a commit is atomic), those of earlier commits were.
    /// </summary>
    public async Task<IReadOnlyList<(bool InLedger, FirestoreErrorKind? Error)>> AppendBatchAsync(
        IReadOnlyList<(string UserId, string EntryId, LedgerEntry Entry)> entries, CancellationToken cancellationToken)
    {
        var results = new (bool InLedger, FirestoreErrorKind? Error)[entries.Count];
        foreach (var chunk in Chunks(entries))
        {
            try
            {
                await CommitAsync([.. chunk.Select(c => c.entry)], cancellationToken);
                foreach (var (_, index) in chunk)
                {
                    results[index] = (true, null);
                }
            }
            catch (FirestoreException exception) when (exception.Kind == FirestoreErrorKind.AlreadyExists)
            {
                foreach (var ((userId, entryId, entry), index) in chunk)
                {
                    try
                    {
                        results[index] = await AppendAsync(userId, entryId, entry, cancellationToken) ? (true, null) : (true, FirestoreErrorKind.AlreadyExists);
                    }
                    catch (FirestoreException failed)
                    {
                        results[index] = (false, failed.Kind);
                    }
                }
            }
        }
        return results;
    }

    private static List<List<((string UserId, string EntryId, LedgerEntry Entry) entry, int index)>> Chunks(
        IReadOnlyList<(string UserId, string EntryId, LedgerEntry Entry)> entries)
    {
        var chunks = new List<List<((string, string, LedgerEntry) entry, int index)>>();
        var current = new List<((string, string, LedgerEntry) entry, int index)>();
        var documents = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < entries.Count; i++)
        {
            var (userId, _, entry) = entries[i];
            // An upper bound of the aggregate documents it adds: the user's totals and cycle, and a day shard.
            string[] touched = [LedgerAggregates.TotalsPath(userId), LedgerAggregates.CyclePath(userId, entry.CycleStart), LedgerAggregates.DayOf(entry.CreatedAt).ToString("O", null)];
            var added = touched.Count(path => !documents.Contains(path));
            if (current.Count > 0 && current.Count + documents.Count + 1 + added > WritesPerCommit)
            {
                chunks.Add(current);
                current = [];
                documents.Clear();
            }
            documents.UnionWith(touched);
            current.Add((entries[i], i));
        }
        if (current.Count > 0)
        {
            chunks.Add(current);
        }
        return chunks;
    }

    private Task<FirestoreCommitResult> CommitAsync(IReadOnlyList<(string UserId, string EntryId, LedgerEntry Entry)> entries, CancellationToken cancellationToken)
    {
        var batch = firestore.Batch();
        var increments = new LedgerAggregates.Increments();
        var shard = Random.Shared.Next(LedgerAggregates.DayShards);
        foreach (var (userId, entryId, entry) in entries)
        {
            batch.Create(EntryPath(userId, entryId), entry with { Aggregated = true }, CreditsJson.Default.LedgerEntry);
            increments.Add(userId, entry, shard);
        }
        increments.WriteTo(batch);
        return batch.CommitAsync(cancellationToken);
    }

    /// <summary>
    /// Appends an entry in a transaction together with the writes <paramref name="build"/> stages (it may read first, and
    /// returns the entry): a plan change and its ledger entry land in one commit or not at all. False when an entry with
    /// this id is already there (then <paramref name="build"/> did not run, and nothing is written).
    /// </summary>
    public Task<bool> AppendInTransactionAsync(string userId, string entryId, Func<FirestoreTransaction, Task<LedgerEntry>> build,
        CancellationToken cancellationToken) =>
        firestore.RunTransactionAsync(async transaction =>
        {
            if (await transaction.GetAsync(EntryPath(userId, entryId), cancellationToken) is not null)
            {
                return false;
            }
            var entry = await build(transaction);
            transaction.Create(EntryPath(userId, entryId), entry with { Aggregated = true }, CreditsJson.Default.LedgerEntry);
            var increments = new LedgerAggregates.Increments();
            increments.Add(userId, entry, Random.Shared.Next(LedgerAggregates.DayShards));
            increments.WriteTo(transaction);
            return true;
        }, cancellationToken: cancellationToken);

    public Task<LedgerEntry?> GetEntryAsync(string userId, string entryId, CancellationToken cancellationToken) =>
        firestore.GetAsync(EntryPath(userId, entryId), CreditsJson.Default.LedgerEntry, cancellationToken);

    /// <summary>Every entry of the user: a full scan, for tests and the one-time fold of entries older than the aggregates.</summary>
    public async Task<IReadOnlyList<LedgerEntry>> ReadAllAsync(string userId, CancellationToken cancellationToken) =>
        [.. (await firestore.Collection($"users/{userId}/ledger").GetAsync(cancellationToken)).Select(d => d.ConvertTo(CreditsJson.Default.LedgerEntry))];

    /// <summary>
    /// The balance the ledger implies at <paramref name="now"/>, from its aggregates: plan = allocation + Σ plan deltas
    /// booked to the current cycle (earlier cycles' plan credits expired), top-up = Σ top-up deltas of all time. Read in
    /// one request with the entries <paramref name="entryIds"/>, as of one moment: <see cref="LedgerBalance.Counted"/> are
    /// those of them the sums include. Two documents plus the ones asked for, however long the ledger.
    /// </summary>
    public async Task<LedgerBalance> ReadBalanceAsync(string userId, DateTimeOffset now, IReadOnlyCollection<string> entryIds, CancellationToken cancellationToken)
    {
        var profile = await GetOrCreateProfileAsync(userId, cancellationToken);
        var cycle = profile.CycleAt(now);
        var totalsName = firestore.Document(LedgerAggregates.TotalsPath(userId)).Name;
        var cycleName = firestore.Document(LedgerAggregates.CyclePath(userId, cycle.Start)).Name;
        var snapshot = await ReadSumsAsync(userId, cycle.Start, [.. entryIds.Select(id => EntryPath(userId, id))], cancellationToken);
        var plan = profile.AllocationUnits + LedgerAggregates.Number(snapshot[cycleName], "plan");
        var topup = LedgerAggregates.Number(snapshot[totalsName], "topup");
        if (plan < 0)
        {
            // Only ledger-only charges (Redis down under `allow`) can overdraw the plan bucket: the rest spills into top-up.
            topup += plan;
            plan = 0;
        }
        var counted = entryIds.Where(id => snapshot[firestore.Document(EntryPath(userId, id)).Name] is not null).ToHashSet(StringComparer.Ordinal);
        return new LedgerBalance(profile, cycle, plan, topup, counted, snapshot.ReadTime);
    }

    /// <summary>The entries of <paramref name="entryIds"/> that exist, each with the time it was written (one request).</summary>
    public async Task<IReadOnlyDictionary<string, (LedgerEntry Entry, DateTimeOffset WrittenAt)>> GetEntriesAsync(string userId,
        IReadOnlyCollection<string> entryIds, CancellationToken cancellationToken)
    {
        var snapshot = await firestore.GetAllAsync([.. entryIds.Select(id => EntryPath(userId, id))], cancellationToken);
        var found = new Dictionary<string, (LedgerEntry, DateTimeOffset)>(StringComparer.Ordinal);
        foreach (var id in entryIds)
        {
            if (snapshot[firestore.Document(EntryPath(userId, id)).Name] is { } document)
            {
                found[id] = (document.ConvertTo(CreditsJson.Default.LedgerEntry), document.CreateTime);
            }
        }
        return found;
    }

    /// <summary>Those of <paramref name="entryIds"/> whose entry was written at or before <paramref name="readTime"/> (and so is in sums read then).</summary>
    public async Task<IReadOnlySet<string>> WrittenByAsync(string userId, IReadOnlyCollection<string> entryIds, DateTimeOffset readTime, CancellationToken cancellationToken) =>
        (await GetEntriesAsync(userId, entryIds, cancellationToken)).Where(found => found.Value.WrittenAt <= readTime).Select(found => found.Key)
            .ToHashSet(StringComparer.Ordinal);

    /// <summary>The charge sums of one of the user's cycles (one document).</summary>
    public async Task<ChargeSums> ReadCycleChargesAsync(string userId, DateTimeOffset cycleStart, CancellationToken cancellationToken) =>
        LedgerAggregates.ChargesOf((await ReadSumsAsync(userId, cycleStart, [], cancellationToken))[firestore.Document(LedgerAggregates.CyclePath(userId, cycleStart)).Name]);

    /// <summary>
    /// The user's totals and one cycle's sums, with <paramref name="alsoRead"/>, as of one moment; the entries written before
    /// the ledger kept sums are folded in first if they never were.
    /// </summary>
    private async Task<FirestoreSnapshot> ReadSumsAsync(string userId, DateTimeOffset cycleStart, IReadOnlyList<string> alsoRead, CancellationToken cancellationToken)
    {
        string[] paths = [LedgerAggregates.TotalsPath(userId), LedgerAggregates.CyclePath(userId, cycleStart), .. alsoRead];
        var snapshot = await firestore.GetAllAsync(paths, cancellationToken);
        if (LedgerAggregates.Number(snapshot[firestore.Document(paths[0]).Name], LedgerAggregates.LegacyFolded) == 0)
        {
            await FoldLegacyEntriesAsync(userId, cancellationToken);
            snapshot = await firestore.GetAllAsync(paths, cancellationToken);
        }
        return snapshot;
    }

    /// <summary>
    /// Adds the entries written before the ledger kept aggregates (no <c>aggregated</c> flag) to the aggregates, once per
    /// user: in a transaction that reads the flag on the totals document and sets it, so two instances never fold twice.
    /// Entries written since carry the flag and were counted by their own commit.
    /// </summary>
    private Task FoldLegacyEntriesAsync(string userId, CancellationToken cancellationToken)
    {
        // The requests of one user that arrive together share one fold, rather than contend in as many transactions.
        var fold = _folds.GetOrAdd(userId, id => new Lazy<Task>(() => FoldOnceAsync(id)));
        return fold.Value.WaitAsync(cancellationToken);
    }

    private async Task FoldOnceAsync(string userId)
    {
        try
        {
            await FoldInTransactionAsync(userId);
        }
        finally
        {
            _folds.TryRemove(userId, out _);
        }
    }

    private Task FoldInTransactionAsync(string userId) =>
        firestore.RunTransactionAsync(async transaction =>
        {
            var totals = await transaction.GetAsync(LedgerAggregates.TotalsPath(userId));
            if (LedgerAggregates.Number(totals, LedgerAggregates.LegacyFolded) != 0)
            {
                return;
            }
            var documents = await transaction.QueryAsync(firestore.Collection($"users/{userId}/ledger"));
            var increments = new LedgerAggregates.Increments();
            foreach (var entry in documents.Select(d => d.ConvertTo(CreditsJson.Default.LedgerEntry)).Where(e => e.Aggregated != true))
            {
                increments.Add(userId, entry, shard: 0);
            }
            increments.Add(LedgerAggregates.TotalsPath(userId), LedgerAggregates.LegacyFolded, 1);
            increments.WriteTo(transaction);
        });

    internal static string? String(FirestoreDocument? document, string field) =>
        document?.Fields.TryGetValue(field, out var value) == true && value.Kind == FirestoreValueKind.String ? value.StringValue : null;

    private static long? Number(FirestoreDocument? document, string field) =>
        document?.Fields.TryGetValue(field, out var value) == true && value.Kind == FirestoreValueKind.Integer ? value.IntegerValue : null;

    internal static DateTimeOffset? Timestamp(FirestoreDocument? document, string field) =>
        document?.Fields.TryGetValue(field, out var value) == true && value.Kind == FirestoreValueKind.Timestamp ? value.TimestampValue : null;
}
