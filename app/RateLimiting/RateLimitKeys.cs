using Majestix.InferenceApi.Identity;
using StackExchange.Redis;

namespace Majestix.InferenceApi.RateLimiting;

/// <summary>
/// Every Redis key the rate limits use (the configured key prefix is added by the database). Address keys
/// name the address's limit scope: an IPv4 address, or an IPv6 address's /64 (<see cref="ClientIp.LimitScope"/>).
/// </summary>
internal static class RateLimitKeys
{
    public static RedisKey User(UserWindow window, string userId) => UserPrefix(window).Append(userId);

    /// <summary>The gate script appends the user id itself (see <c>RedisGate.GateScript</c>).</summary>
    public static RedisKey UserPrefix(UserWindow window) => window switch
    {
        UserWindow.Reads => "rl:read:",
        UserWindow.AgentCalls => "rl:agent:",
        _ => "rl:user:",
    };

    public static RedisKey Ip(string ip) => $"rl:ip:{ClientIp.LimitScope(ip)}";

    public static RedisKey AuthFailures(string ip) => $"authfail:{ClientIp.LimitScope(ip)}";

    public static RedisKey Blocked(string ip) => $"authblock:{ClientIp.LimitScope(ip)}";
}
