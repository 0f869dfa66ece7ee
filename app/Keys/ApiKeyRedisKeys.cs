using StackExchange.Redis;

namespace Majestix.InferenceApi.Keys;

/// <summary>Every Redis key the API-key feature uses.</summary>
internal static class ApiKeyRedisKeys
{
    /// <summary>Verified key → <c>v1|uid|key_id|plan|expires</c>, or the tombstone <c>revoked</c>.</summary>
    public static RedisKey Verified(string keyHash) => $"apikey:{keyHash}";

    /// <summary>Set on the first use in an hour: the request that sets it writes last_used_at.</summary>
    public static RedisKey UsedThisHour(string keyHash) => $"apikey:used:{keyHash}";

    /// <summary>Plan of a web user (API-key entries carry the plan themselves).</summary>
    public static RedisKey Plan(string userId) => $"plan:{userId}";

    public const string Tombstone = "revoked";
}
