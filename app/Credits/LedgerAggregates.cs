using System.Globalization;
using Majestix.GoogleCloud.Firestore;

namespace Majestix.InferenceApi.Credits;

/// <summary>
/// Sums of the ledger kept next to it, changed by field increments in the same commit as the entries they count
/// (<see cref="CreditLedger"/> writes both), so they never drift from the entries and reads need not scan them:
/// <list type="bullet">
/// <item><c>users/{uid}/ledger_totals/all</c>: <c>topup</c>, Σ top-up deltas of all time.</item>
/// <item><c>users/{uid}/ledger_totals/cycle-{cycle start ms}</c>: <c>plan</c>, Σ plan deltas booked to the cycle (the
/// balance checkpoint of the cycle); charges' <c>credits</c>, <c>requests</c>, <c>provider_cost_micro_usd</c>, and the same per model under <c>models</c>.</item>
/// <item><c>ledger_days/{yyyy-MM-dd}-{shard}</c>: the same charge sums of all users for a UTC day (by entry time), plus
/// <c>granted</c>, spread over <see cref="DayShards"/> documents so that no one document takes every write.</item>
/// </list>
/// Amounts are micro-credits; provider cost is what was charged without the markup, in micro-dollars.
/// </summary>
internal static class LedgerAggregates
{
    public const int DayShards = 4;

    public const string DaysCollection = "ledger_days";

    public static string TotalsPath(string userId) => $"users/{userId}/ledger_totals/all";

    public static string CyclePath(string userId, DateTimeOffset cycleStart) =>
        string.Create(CultureInfo.InvariantCulture, $"users/{userId}/ledger_totals/cycle-{cycleStart.ToUnixTimeMilliseconds()}");

    public static string DayId(DateOnly day, int shard) => string.Create(CultureInfo.InvariantCulture, $"{day:yyyy-MM-dd}-{shard}");

    public static DateOnly DayOf(DateTimeOffset time) => DateOnly.FromDateTime(time.UtcDateTime);

    /// <summary>One shard of a day's sums for all users.</summary>
    public static string DayPath(DateOnly day, int shard) => $"{DaysCollection}/{DayId(day, shard)}";

    /// <summary>Marks totals that also count the entries written before aggregates were kept (<see cref="CreditLedger"/>'s fold).</summary>
    public const string LegacyFolded = "legacy_folded";

    /// <summary>Provider cost in micro-dollars of a charge: 1 credit is $0.001 at the 1.4 markup, so a micro-credit is 1/1400 micro-dollar.</summary>
    public static long ProviderCostMicroUsd(long chargedUnits) =>
        (long)Math.Round(chargedUnits / (CreditPrice.Markup * 1_000m), MidpointRounding.AwayFromZero);

    /// <summary>Increments per document path, then per field path, summed over the entries.</summary>
    public sealed class Increments
    {
        private readonly Dictionary<string, Dictionary<string, long>> _documents = new(StringComparer.Ordinal);

        public IEnumerable<KeyValuePair<string, Dictionary<string, long>>> Documents => _documents;

        public void Add(string userId, LedgerEntry entry, int shard)
        {
            if (entry.TopupDelta != 0)
            {
                Add(TotalsPath(userId), "topup", entry.TopupDelta);
            }
            var cycle = CyclePath(userId, entry.CycleStart);
            if (entry.PlanDelta != 0)
            {
                Add(cycle, "plan", entry.PlanDelta);
            }
            var day = DayPath(DayOf(entry.CreatedAt), shard);
            if (entry.Type != LedgerEntryTypes.Charge)
            {
                Add(day, "granted", entry.PlanDelta + entry.TopupDelta);
                return;
            }
            var charged = -(entry.PlanDelta + entry.TopupDelta);
            var cost = ProviderCostMicroUsd(charged);
            var model = FirestoreFieldPath.Escape(entry.Model ?? "unknown");
            foreach (var path in new[] { cycle, day })
            {
                Add(path, "credits", charged);
                Add(path, "requests", 1);
                Add(path, "provider_cost_micro_usd", cost);
                Add(path, $"models.{model}.credits", charged);
                Add(path, $"models.{model}.requests", 1);
                Add(path, $"models.{model}.provider_cost_micro_usd", cost);
            }
        }

        public void Add(string documentPath, string fieldPath, long delta)
        {
            if (!_documents.TryGetValue(documentPath, out var fields))
            {
                _documents[documentPath] = fields = new Dictionary<string, long>(StringComparer.Ordinal);
            }
            fields[fieldPath] = fields.GetValueOrDefault(fieldPath) + delta;
        }

        public void WriteTo(FirestoreWriter writer)
        {
            foreach (var (path, fields) in _documents)
            {
                writer.Transform(path, [.. fields.Select(field => FirestoreFieldTransform.Increment(field.Key, field.Value))]);
            }
        }
    }

    public static long Number(FirestoreDocument? document, string fieldPath) =>
        document?.GetValue(fieldPath) is { Kind: FirestoreValueKind.Integer } value ? value.IntegerValue : 0;

    /// <summary>Charge sums of one aggregate document (a user's cycle or a day shard).</summary>
    public static ChargeSums ChargesOf(FirestoreDocument? document)
    {
        var models = new Dictionary<string, ModelSums>(StringComparer.Ordinal);
        if (document?.GetValue("models") is { Kind: FirestoreValueKind.Map } map)
        {
            foreach (var (model, value) in map.MapValue)
            {
                if (value.Kind == FirestoreValueKind.Map)
                {
                    models[model] = new ModelSums(Field(value, "credits"), Field(value, "requests"), Field(value, "provider_cost_micro_usd"));
                }
            }
        }
        return new ChargeSums(Number(document, "credits"), Number(document, "requests"), Number(document, "provider_cost_micro_usd"), models);
    }

    private static long Field(FirestoreValue map, string name) =>
        map.MapValue.TryGetValue(name, out var value) && value.Kind == FirestoreValueKind.Integer ? value.IntegerValue : 0;
}

internal sealed record ModelSums(long Units, long Requests, long ProviderCostMicroUsd);

internal sealed record ChargeSums(long Units, long Requests, long ProviderCostMicroUsd, IReadOnlyDictionary<string, ModelSums> Models);
