using StackExchange.Redis;

namespace Majestix.InferenceApi.Keys;

/// <summary>Every Redis key the API-key feature uses.</summary>
internal static class ApiKeyRedisKeys
{
    /// <summary>Verified key → <c>v1|uid|key_id|plan|expires</c>, or the tombstone <c>revoked</c>.</summary>
    public static RedisKey Verified(string keyHash) => $"apikey:{keyHash}";

    /// <summary>Set on the first use in an hour: the request that sets it writes last_used_at.</summary>
    public static RedisKey UsedThisHour(string keyHash) => $"apikey:used:{keyHash}";

    /// <summary>
    /// A user's plan: cached for web callers, and published on a plan change (<see cref="ApiKeyStore.PublishPlanAsync"/>),
    /// when the gate script reads it ahead of the plan a cached key entry carries.
    /// </summary>
    public static RedisKey Plan(string userId) => PlanPrefix.Append(userId);

    /// <summary>The gate script appends the user id itself (see <c>RedisGate.GateScript</c>).</summary>
    public static RedisKey PlanPrefix => "plan:";

    public const string Tombstone = "revoked";
}
