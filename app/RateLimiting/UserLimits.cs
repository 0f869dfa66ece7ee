using System.Globalization;
using Majestix.InferenceApi.Audit;
using Majestix.InferenceApi.Errors;
using Majestix.InferenceApi.Identity;
using Majestix.InferenceApi.Redis;
using Microsoft.Extensions.Options;

namespace Majestix.InferenceApi.RateLimiting;

/// <summary>
/// The per-user windows as the client sees them: RateLimit-* headers, and the documented 429 when a window is
/// full. <see cref="CallerGate"/> admits public callers; the agent endpoint admits the user it bills.
/// </summary>
internal sealed class UserLimits(RedisGate gate, RedisGuard guard, AuditLog audit, IOptions<RateLimitOptions> limits)
{
    /// <summary>
    /// Counts the request in <paramref name="window"/> of the caller's user (or reads what the gate script already counted)
    /// and writes the headers; false when the window was full and the 429 written. Redis down under <c>allow</c>: admitted.
    /// </summary>
    private async Task<LimitResult?> AdmitInRedisAsync(CallerContext caller, UserWindow window)
    {
        var perMinute = limits.Value.PerMinute(caller.Plan, window);
        // Made once: a run again after a timeout finds the request already counted.
        var member = RedisGate.NewMember();
        return await guard.RunAsync(async () => (LimitResult?)await gate.AdmitUserAsync(caller.UserId!, window, perMinute, member), null, repeatable: true);
    }

    public async Task<bool> AdmitAsync(HttpContext context, CallerContext caller, UserWindow window, string? ip, LimitResult? appliedByGate = null)
    {
        var result = appliedByGate ?? await AdmitInRedisAsync(caller, window);
        if (result is not { } limit)
        {
            return true;
        }
        var headers = context.Response.Headers;
        headers["RateLimit-Limit"] = limit.Limit.ToString(CultureInfo.InvariantCulture);
        headers["RateLimit-Remaining"] = limit.Remaining.ToString(CultureInfo.InvariantCulture);
        headers["RateLimit-Reset"] = Seconds(limit.Reset).ToString(CultureInfo.InvariantCulture);
        if (limit.Allowed)
        {
            return true;
        }
        var (reason, message, plan) = window switch
        {
            UserWindow.Reads => ("limit_per_user_reads", $"Rate limit of {limit.Limit} requests per minute exceeded for reads and account requests; model calls have a limit of their own.", (string?)null),
            UserWindow.AgentCalls => ("limit_per_user_agent", $"Rate limit of {limit.Limit} agent calls per minute exceeded for this user.", null),
            _ => ("limit_per_user", $"Rate limit of {limit.Limit} requests per minute exceeded for the {caller.Plan.WireName()} plan.", caller.Plan.WireName()),
        };
        audit.Record(AuditEventTypes.RateLimited, context, userId: caller.UserId, ip: ip, keyId: caller.KeyId, reason: reason);
        await TooManyAsync(context, ErrorCodes.RateLimited, message, limit.Reset, plan);
        return false;
    }

    /// <summary><c>/internal/agent/code</c>: the user the agent bills, in the agent window; false when refused (429 written).</summary>
    public Task<bool> AdmitAgentCallAsync(HttpContext context, CallerContext agent, string billedUserId) =>
        AdmitAsync(context, agent with { UserId = billedUserId }, UserWindow.AgentCalls, ip: null);

    public static Task TooManyAsync(HttpContext context, string code, string message, TimeSpan retryAfter, string? plan)
    {
        var seconds = Seconds(retryAfter);
        context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        return context.Response.WriteAsJsonAsync(new RateLimitedError(new RateLimitedDetail(code, message, seconds, plan)), AppJson.Default.RateLimitedError);
    }

    private static int Seconds(TimeSpan span) => Math.Max(1, (int)Math.Ceiling(span.TotalSeconds));
}
