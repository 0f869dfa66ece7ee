using System.Globalization;

namespace Majestix.InferenceApi.Credits;

/// <summary>
/// A grant as Redis records it (<see cref="CreditKeys.Grants"/>): <c>state|plan part|top-up part|cycle start ms|created ms|entry type|reason</c>.
/// It carries everything its ledger entry holds, so whoever finishes the grant (the caller, a retry, the reaper)
/// writes the same entry, created at the time the record was made.
/// </summary>
internal sealed record GrantRecord(string State, long PlanUnits, long TopupUnits, DateTimeOffset CycleStart, DateTimeOffset CreatedAt, string EntryType, string Reason)
{
    public LedgerEntry Entry => new(EntryType, PlanUnits, TopupUnits, CreatedAt, CycleStart, Reason: Reason.Length > 0 ? Reason : null);

    public string Format() => string.Create(CultureInfo.InvariantCulture,
        $"{State}|{PlanUnits}|{TopupUnits}|{CycleStart.ToUnixTimeMilliseconds()}|{CreatedAt.ToUnixTimeMilliseconds()}|{EntryType}|{Reason}");

    public static GrantRecord Parse(string value)
    {
        var parts = value.Split('|', 7);
        return new GrantRecord(parts[0], Long(parts[1]), Long(parts[2]), DateTimeOffset.FromUnixTimeMilliseconds(Long(parts[3])),
            DateTimeOffset.FromUnixTimeMilliseconds(Long(parts[4])), parts[5], parts[6]);
    }

    /// <summary>Whether <paramref name="entry"/> is this grant (same amounts and type), whenever it was written.</summary>
    public bool SameGrant(LedgerEntry? entry) =>
        entry is not null && entry.PlanDelta == PlanUnits && entry.TopupDelta == TopupUnits && entry.Type == EntryType;

    private static long Long(string value) => long.Parse(value, CultureInfo.InvariantCulture);
}
