using StackExchange.Redis;

namespace Majestix.InferenceApi.Credits;

/// <summary>Every Redis key the credits feature uses (the configured key prefix is added by the database).</summary>
internal static class CreditKeys
{
    /// <summary>Hash: plan and top-up buckets, allocation, cycle start/end/anchor/index, plan name (amounts in micro-credits).</summary>
    public static RedisKey Balance(string userId) => BalancePrefix.Append(userId);

    /// <summary>Hash: hold id → <c>state|plan part|top-up part|cycle start</c>; finished holds stay as records for a while.</summary>
    public static RedisKey Holds(string userId) => Balance(userId).Append(":holds");

    /// <summary>
    /// The gate script builds <see cref="Balance"/>, <see cref="Holds"/> and <see cref="HoldMember"/> from this
    /// and the key owner's id itself (see <c>RedisGate.GateScript</c>): change them together.
    /// </summary>
    public static RedisKey BalancePrefix => "credits:";

    /// <summary>Set of grant ids already applied to the hot balance.</summary>
    public static RedisKey AppliedGrants(string userId) => $"credits:{userId}:grants";

    /// <summary>Sorted set of <see cref="HoldMember"/> by when the reaper must look at it (hold expiry, or record cleanup).</summary>
    public static RedisKey HoldExpiry => "credits:holds:expiry";

    /// <summary>Sorted set of settled holds whose ledger entry is not confirmed written yet, by settle time.</summary>
    public static RedisKey LedgerPending => "credits:ledger:pending";

    public static string HoldMember(string userId, string holdId) => $"{userId}|{holdId}";

    public static (string UserId, string HoldId) ParseHoldMember(string member)
    {
        var split = member.LastIndexOf('|');
        return (member[..split], member[(split + 1)..]);
    }
}
