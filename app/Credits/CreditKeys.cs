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

    /// <summary>
    /// Hash: grant id → <c>state|plan part|top-up part|cycle start|created ms|entry type|reason</c>, state pending (its
    /// ledger entry may or may not be written, the balance does not have it) or applied (the balance has it, or a
    /// rebuild counted it). Applied records are forgotten a retention after the last one; pending ones never.
    /// </summary>
    public static RedisKey Grants(string userId) => Balance(userId).Append(":grant-records");

    /// <summary>Sorted set of <see cref="HoldMember"/>-shaped <c>user|grant id</c> of pending grants, by when they were asked for.</summary>
    public static RedisKey GrantsPending => "credits:grants:pending";

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
