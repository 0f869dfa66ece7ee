using Majestix.GoogleCloud.Firestore;
using Majestix.InferenceApi.Identity;
using Microsoft.Extensions.Options;

namespace Majestix.InferenceApi.Credits;

/// <summary>What the balance is computed from: plan, allocation and the anchor of the plan cycles.</summary>
internal sealed record CreditProfile(Plan Plan, long AllocationUnits, DateTimeOffset Anchor, DateTimeOffset FirstCycleEnd)
{
    public CreditCycle CycleAt(DateTimeOffset now) => CreditCycle.Containing(Anchor, FirstCycleEnd, now);
}

/// <summary>
/// The durable side of credits: <c>users/{uid}</c> (plan, allocation in micro-credits, cycle) and the
/// append-only ledger under it. Every write is a create of a document whose id is the idempotency key,
/// so a retried write can never count twice.
/// </summary>
internal sealed class CreditLedger(FirestoreClient firestore, IOptions<CreditOptions> options, TimeProvider time)
{
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
        return new CreditProfile(plan, allocation, start, Timestamp(document, "billing_cycle_end") ?? start.AddMonths(1));
    }

    /// <summary>Appends an entry; false when an entry with this id already exists (nothing is written).</summary>
    public async Task<bool> AppendAsync(string userId, string entryId, LedgerEntry entry, CancellationToken cancellationToken)
    {
        try
        {
            await firestore.CreateAsync(EntryPath(userId, entryId), entry, CreditsJson.Default.LedgerEntry, cancellationToken);
            return true;
        }
        catch (FirestoreException exception) when (exception.Kind == FirestoreErrorKind.AlreadyExists)
        {
            return false;
        }
    }

    /// <summary>
    /// Appends entries in one request that is not atomic; per entry, true when it is in the ledger (written
    /// now, or an entry with its id was already there) and false when its write failed. A failure of the
    /// request itself throws, and then any entry may or may not have been written.
    /// </summary>
    public async Task<IReadOnlyList<(bool InLedger, FirestoreErrorKind? Error)>> AppendBatchAsync(
        IReadOnlyList<(string UserId, string EntryId, LedgerEntry Entry)> entries, CancellationToken cancellationToken)
    {
        var bulk = firestore.BulkWriter();
        foreach (var (userId, entryId, entry) in entries)
        {
            bulk.Create(EntryPath(userId, entryId), entry, CreditsJson.Default.LedgerEntry);
        }
        var results = await bulk.WriteAsync(cancellationToken);
        return [.. results.Select(r => (r.Succeeded || r.Error == FirestoreErrorKind.AlreadyExists, r.Error))];
    }

    public Task<LedgerEntry?> GetEntryAsync(string userId, string entryId, CancellationToken cancellationToken) =>
        firestore.GetAsync(EntryPath(userId, entryId), CreditsJson.Default.LedgerEntry, cancellationToken);

    public async Task<IReadOnlyList<LedgerEntry>> ReadAllAsync(string userId, CancellationToken cancellationToken) =>
        [.. (await ReadAllWithIdsAsync(userId, cancellationToken)).Select(e => e.Entry)];

    private async Task<IReadOnlyList<(string Id, LedgerEntry Entry)>> ReadAllWithIdsAsync(string userId, CancellationToken cancellationToken)
    {
        var documents = await firestore.Collection($"users/{userId}/ledger").GetAsync(cancellationToken);
        return [.. documents.Select(d => (d.Id, d.ConvertTo(CreditsJson.Default.LedgerEntry)))];
    }

    /// <summary>
    /// The balance the ledger implies at <paramref name="now"/>: plan = allocation + Σ plan deltas of the
    /// current cycle (earlier cycles' plan credits expired), top-up = Σ top-up deltas of all time. Also the
    /// ids of the entries it was computed from.
    /// </summary>
    public async Task<(CreditProfile Profile, CreditCycle Cycle, long PlanUnits, long TopupUnits, IReadOnlySet<string> EntryIds)> ComputeAsync(
        string userId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var profileTask = GetOrCreateProfileAsync(userId, cancellationToken);
        var entriesTask = ReadAllWithIdsAsync(userId, cancellationToken);
        var profile = await profileTask;
        var read = await entriesTask;
        var entries = read.Select(e => e.Entry).ToList();
        var cycle = profile.CycleAt(now);
        var cycleStart = cycle.Start.ToUnixTimeMilliseconds();
        var plan = profile.AllocationUnits + entries.Where(e => e.CycleStart.ToUnixTimeMilliseconds() == cycleStart).Sum(e => e.PlanDelta);
        var topup = entries.Sum(e => e.TopupDelta);
        if (plan < 0)
        {
            // Only ledger-only charges (Redis down under `allow`) can overdraw the plan bucket: the rest spills into top-up.
            topup += plan;
            plan = 0;
        }
        return (profile, cycle, plan, topup, read.Select(e => e.Id).ToHashSet(StringComparer.Ordinal));
    }

    private static string? String(FirestoreDocument document, string field) =>
        document.Fields.TryGetValue(field, out var value) && value.Kind == FirestoreValueKind.String ? value.StringValue : null;

    private static long? Number(FirestoreDocument document, string field) =>
        document.Fields.TryGetValue(field, out var value) && value.Kind == FirestoreValueKind.Integer ? value.IntegerValue : null;

    private static DateTimeOffset? Timestamp(FirestoreDocument document, string field) =>
        document.Fields.TryGetValue(field, out var value) && value.Kind == FirestoreValueKind.Timestamp ? value.TimestampValue : null;
}
