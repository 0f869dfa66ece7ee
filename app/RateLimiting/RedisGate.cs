using System.Security.Cryptography;
using Majestix.InferenceApi.Credits;
using Majestix.InferenceApi.Identity;
using Majestix.InferenceApi.Keys;
using Majestix.InferenceApi.Redis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Majestix.InferenceApi.RateLimiting;

public enum GateVerdict
{
    Pass,
    IpBlocked,
    IpLimited,
}

/// <summary>
/// Outcome of the per-request gate: verdict, the looked-up cache entry, when to retry, and — when the
/// entry was a live API key — the key owner's per-user window, already applied.
/// </summary>
internal readonly record struct GateResult(GateVerdict Verdict, TimeSpan RetryAfter, RedisValue CachedEntry, bool FirstUseThisHour, LimitResult? User = null,
    ReserveResult? Hold = null);

internal readonly record struct LimitResult(bool Allowed, int Limit, int Remaining, TimeSpan Reset);

/// <summary>
/// The Redis side of identity and rate limiting, each step one atomic script and one round trip.
/// Windows are sliding logs (a sorted set of request stamps): "N per minute" holds for every
/// 60-second window, across every instance sharing the Redis.
/// </summary>
internal sealed class RedisGate(IDatabase redis, IOptions<RateLimitOptions> options, TimeProvider time)
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    // Shared by the scripts below: trim the window, refuse when full, otherwise record this request. A request
    // already recorded (its member is there: the script is run again after a timeout) was admitted: below the limit
    // its ZADD only moves its stamp, and a full window does not refuse it.
    private const string SlidingWindow = """
        local function admit(key, now, limit, window, member)
          redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
          local count = redis.call('ZCARD', key)
          if count >= limit then
            if redis.call('ZSCORE', key, member) then return true, count, window end
            local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
            return false, count, tonumber(oldest[2]) + window - now
          end
          redis.call('ZADD', key, now, member)
          redis.call('PEXPIRE', key, window)
          return true, count + 1, window
        end
        """;

    // KEYS: block, ip window, [lookup], [first-use marker], [user window prefix, published plan prefix], [balance prefix, hold expiry].
    // ARGV: now ms, ip limit, window ms, member, marker seconds, free / guru / pro per minute (in the window's terms),
    //       [hold id, units, hold expires ms, then each plan that may hold: free, guru, pro].
    // Returns {0 pass | 1 blocked | 2 ip limited, retry ms, cached entry or false, first use 0/1,
    //          user window: -1 not applied | 0 refused | 1 admitted, count, reset ms, limit,
    //          [owner's user id, then the reserve reply (CreditStore.ReserveLua)]}.
    // With a user window prefix and a live API-key entry (v1|uid|key id|plan|expiry s), the owner's
    // per-user window (model calls or reads: the prefix and limits say which) is applied here too, so a cached key
    // costs one round trip. A plan published for the owner since the entry was cached (ApiKeyStore.PublishPlanAsync)
    // overrides the entry's, and the entry is returned with it. With a balance prefix, a
    // call's credits are held in the same trip when the window admits and the entry's plan may hold.
    // The window's, balance's and holds' names are built from the entry (CreditKeys.Balance / Holds /
    // HoldMember), so they are not declared in KEYS: fine on a single-shard Redis (Memorystore
    // Basic/Standard), not on Redis Cluster.
    private static readonly RedisScript GateScript = new(SlidingWindow + "\n" + CreditStore.ReserveLua + """

        local function may_hold(plan)
          for i = 12, #ARGV do
            if ARGV[i] == plan then return true end
          end
          return false
        end

        local blocked = redis.call('PTTL', KEYS[1])
        if blocked > 0 then return {1, blocked, false, 0, -1, 0, 0, 0} end
        local now = tonumber(ARGV[1])
        local limit = tonumber(ARGV[2])
        if limit > 0 then
          local ok, _, retry = admit(KEYS[2], now, limit, tonumber(ARGV[3]), ARGV[4])
          if not ok then return {2, retry, false, 0, -1, 0, 0, 0} end
        end
        if #KEYS < 3 then return {0, 0, false, 0, -1, 0, 0, 0} end
        local entry = redis.call('GET', KEYS[3])
        local first = 0
        if #KEYS >= 4 and entry and entry ~= 'revoked' then
          if redis.call('SET', KEYS[4], '1', 'NX', 'EX', tonumber(ARGV[5])) then first = 1 end
        end
        if #KEYS >= 6 and entry then
          local uid, key_id, plan, expires = string.match(entry, '^v1|([^|]+)|([^|]+)|(%a+)|(%d+)$')
          if uid and tonumber(expires) * 1000 > now then
            local published = redis.call('GET', KEYS[6] .. uid)
            if published and published ~= plan then
              plan = published
              entry = 'v1|' .. uid .. '|' .. key_id .. '|' .. plan .. '|' .. expires
            end
            plan = string.lower(plan)
            local per_minute = tonumber(plan == 'pro' and ARGV[8] or plan == 'guru' and ARGV[7] or ARGV[6])
            local ok, count, reset = admit(KEYS[5] .. uid, now, per_minute, tonumber(ARGV[3]), ARGV[4])
            local reply = {0, 0, entry, first, ok and 1 or 0, count, reset, per_minute}
            if ok and #KEYS >= 8 and may_hold(plan) then
              table.insert(reply, uid)
              local held = reserve(KEYS[7] .. uid, KEYS[7] .. uid .. ':holds', KEYS[8], ARGV[9], tonumber(ARGV[10]), now, ARGV[11], uid .. '|' .. ARGV[9])
              for _, value in ipairs(held) do table.insert(reply, value) end
            end
            return reply
          end
        end
        return {0, 0, entry, first, -1, 0, 0, 0}
        """);

    // KEYS: user window. ARGV: now ms, limit, window ms, member. Returns {allowed 0/1, count, reset ms}.
    private static readonly RedisScript UserScript = new(SlidingWindow + """

        local ok, count, reset = admit(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4])
        return {ok and 1 or 0, count, reset}
        """);

    // KEYS: failures, block. ARGV: now ms, window ms, threshold, block ms, member. Returns 1 when this failure blocked the address.
    private static readonly RedisScript FailureScript = new("""
        local now = tonumber(ARGV[1])
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
        redis.call('ZADD', KEYS[1], now, ARGV[5])
        redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
        if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) and redis.call('EXISTS', KEYS[2]) == 0 then
          redis.call('SET', KEYS[2], '1', 'PX', tonumber(ARGV[4]))
          redis.call('DEL', KEYS[1])
          return 1
        end
        return 0
        """);

    private RateLimitOptions Limits => options.Value;

    /// <summary>
    /// Blocked address? Over the per-IP limit? Then the lookup entry and first-use marker, and with
    /// <paramref name="keyOwnerWindow"/> that per-user window of the cached key's owner, in one trip. With
    /// <paramref name="hold"/> too, the owner's credits for a call, when the window admits and the entry's
    /// plan is one of the hold's (<see cref="GateResult.Hold"/>: null when not held or the balance is not loaded).
    /// </summary>
    public async Task<GateResult> PassAsync(string ip, bool limitIp, RedisKey? lookup, RedisKey? firstUseMarker, UserWindow? keyOwnerWindow = null,
        HoldRequest? hold = null, string? member = null)
    {
        RedisKey[] keys = (lookup, firstUseMarker, keyOwnerWindow) switch
        {
            ({ } l, { } m, { } owner) when hold is not null =>
                [RateLimitKeys.Blocked(ip), RateLimitKeys.Ip(ip), l, m, RateLimitKeys.UserPrefix(owner), ApiKeyRedisKeys.PlanPrefix, CreditKeys.BalancePrefix, CreditKeys.HoldExpiry],
            ({ } l, { } m, { } owner) => [RateLimitKeys.Blocked(ip), RateLimitKeys.Ip(ip), l, m, RateLimitKeys.UserPrefix(owner), ApiKeyRedisKeys.PlanPrefix],
            ({ } l, { } m, null) => [RateLimitKeys.Blocked(ip), RateLimitKeys.Ip(ip), l, m],
            ({ } l, null, _) => [RateLimitKeys.Blocked(ip), RateLimitKeys.Ip(ip), l],
            _ => [RateLimitKeys.Blocked(ip), RateLimitKeys.Ip(ip)],
        };
        var now = Now();
        var window = keyOwnerWindow ?? UserWindow.ModelCalls;
        RedisValue[] values = [now, limitIp ? Limits.PerIpPerMinute : 0, (long)Minute.TotalMilliseconds, member ?? NewMember(), 3600,
            Limits.PerMinute(Plan.Free, window), Limits.PerMinute(Plan.Guru, window), Limits.PerMinute(Plan.Pro, window)];
        if (hold is not null)
        {
            values = [.. values, hold.HoldId, hold.Units, now + (long)hold.Ttl.TotalMilliseconds, .. hold.Plans.Select(plan => (RedisValue)plan.WireName())];
        }
        var result = (RedisResult[])(await GateScript.EvaluateAsync(redis, keys, values))!;
        var verdict = (GateVerdict)(int)result[0];
        var user = (int)result[4] switch
        {
            -1 => (LimitResult?)null,
            var admitted => UserLimit(admitted == 1, (int)result[7], (int)result[5], (long)result[6]),
        };
        var held = hold is not null && result.Length > 8 ? CreditStore.ReadReserveReply((string)result[8]!, hold.HoldId, hold.Units, result, offset: 9) : null;
        return new GateResult(verdict, TimeSpan.FromMilliseconds((long)result[1]), (RedisValue)result[2], (int)result[3] == 1, user, held);
    }

    public async Task<LimitResult> AdmitUserAsync(string userId, UserWindow window, int perMinute, string? member = null)
    {
        var result = (RedisResult[])(await UserScript.EvaluateAsync(redis, [RateLimitKeys.User(window, userId)],
            [Now(), perMinute, (long)Minute.TotalMilliseconds, member ?? NewMember()]))!;
        return UserLimit((int)result[0] == 1, perMinute, (int)result[1], (long)result[2]);
    }

    private static LimitResult UserLimit(bool allowed, int perMinute, int count, long resetMilliseconds) =>
        new(allowed, perMinute, Math.Max(0, perMinute - count), TimeSpan.FromMilliseconds(resetMilliseconds));

    /// <summary>Counts a failed authentication; true when it is the one that blocks the address.</summary>
    public async Task<bool> RecordAuthFailureAsync(string ip)
    {
        var result = await FailureScript.EvaluateAsync(redis, [RateLimitKeys.AuthFailures(ip), RateLimitKeys.Blocked(ip)],
            [Now(), Limits.AuthFailureWindowSeconds * 1000L, Limits.AuthFailureThreshold, Limits.BlockSeconds * 1000L, NewMember()]);
        return (int)result == 1;
    }

    private long Now() => time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>
    /// A request's stamp in a window. Unique per request (a client-chosen id would let repeats collapse into one entry);
    /// made once before a script that may be run again, so the repeat finds the request already counted.
    /// </summary>
    public static string NewMember() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
}
