using StackExchange.Redis;

namespace Majestix.InferenceApi.RateLimiting;

/// <summary>Every Redis key the rate limits use (the configured key prefix is added by the database).</summary>
internal static class RateLimitKeys
{
    public static RedisKey User(string userId) => UserPrefix.Append(userId);

    /// <summary>The gate script appends the user id itself (see <c>RedisGate.GateScript</c>).</summary>
    public static RedisKey UserPrefix => "rl:user:";

    public static RedisKey Ip(string ip) => $"rl:ip:{ip}";

    public static RedisKey AuthFailures(string ip) => $"authfail:{ip}";

    public static RedisKey Blocked(string ip) => $"authblock:{ip}";
}
