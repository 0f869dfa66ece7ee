using System.Collections.Concurrent;
using Majestix.InferenceApi.Audit;
using Majestix.InferenceApi.Credits;
using Majestix.InferenceApi.Errors;
using Majestix.InferenceApi.Keys;
using Majestix.InferenceApi.RateLimiting;
using Majestix.InferenceApi.Redis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Majestix.InferenceApi.Identity;

/// <summary>
/// Resolves the caller once for every endpoint that declares a <see cref="CallerRequirement"/>, in
/// this order: blocked address → per-IP limit → credentials → source allowed here → per-user limit (in the
/// route's window: model calls at the plan's rate, everything else at the reads rate, <see cref="UserLimits"/>).
/// An API key found in the cache costs one Redis round trip: the gate script applies its owner's
/// window too. A web caller costs two (gate, then window), plus one for its plan on a cache miss;
/// its token costs none (key sets are cached in memory). On a <see cref="HoldsInGate"/> endpoint, a key
/// verified here within the last minute is left to the endpoint as a <see cref="GateTicket"/>: the same
/// checks in the same order, run once the body is read, with the call's credit hold in the gate's trip.
/// </summary>
internal sealed class CallerGate(
    RequestDelegate next,
    RedisGate gate,
    RedisGuard guard,
    ApiKeyStore keys,
    TokenVerifier tokens,
    AuditLog audit,
    UserLimits users,
    IOptions<RateLimitOptions> limits,
    ILogger<CallerGate> logger)
{
    private const string ApiKeyHeader = "X-Api-Key";
    private const string AppCheckHeader = "X-Firebase-AppCheck";
    private const long RecentKeyMilliseconds = 60_000;
    private const int RecentKeyCapacity = 10_000;
    private const string KeysUnavailableRetrySeconds = "5";

    // Key hashes this process verified lately, by Environment.TickCount64: which callers may skip ahead to the endpoint.
    private readonly ConcurrentDictionary<string, long> _recentKeys = new(StringComparer.Ordinal);

    public async Task InvokeAsync(HttpContext context)
    {
        var requirement = context.GetEndpoint()?.Metadata.GetMetadata<CallerRequirement>();
        if (requirement is null)
        {
            await next(context);
            return;
        }

        var ip = ClientIp.Resolve(context, limits.Value.TrustedProxyCount);
        if (TryLeaveToEndpoint(context, requirement, ip))
        {
            await next(context);
            return;
        }
        var caller = requirement.AllowsAgent
            ? await AuthenticateInternalAsync(context, ip)
            : await AuthenticatePublicAsync(context, requirement, ip);
        if (caller is null)
        {
            return;
        }
        context.Features.Set(caller);
        await next(context);
    }

    private async Task<CallerContext?> AuthenticateInternalAsync(HttpContext context, string ip)
    {
        if (context.Request.Headers.ContainsKey(ApiKeyHeader))
        {
            return await RejectAsync(context, ip, "api_key_on_internal", "API keys are not accepted on internal endpoints.");
        }
        if (BearerToken(context) is not { } token)
        {
            return await RejectAsync(context, ip, "missing_credentials", "Missing bearer token.");
        }
        var check = await tokens.VerifyGoogleOidcTokenAsync(token, context.RequestAborted);
        if (check.KeysUnavailable)
        {
            return await KeysUnavailableAsync(context);
        }
        if (check.Identity is null)
        {
            return await RejectAsync(context, ip, check.FailureReason!, "Invalid or unauthorized service token.");
        }
        // Internal callers are exempt from the address limits; they bill the user named in the body.
        return new CallerContext(CallerSource.Agent, UserId: null, Plan.Free, ServiceAccount: check.Identity);
    }

    /// <summary>
    /// A <see cref="HoldsInGate"/> endpoint called with a key this process verified within the last minute gets
    /// the key's gate as a <see cref="GateTicket"/> to finish itself, with the call's credit hold in the same trip.
    /// </summary>
    private bool TryLeaveToEndpoint(HttpContext context, CallerRequirement requirement, string ip)
    {
        if (!requirement.AllowsApiKey || context.GetEndpoint()?.Metadata.GetMetadata<HoldsInGate>() is null
            || RawApiKey(context) is not { } rawKey || !ApiKeyStore.LooksLikeKey(rawKey))
        {
            return false;
        }
        var keyHash = ApiKeyStore.Hash(rawKey);
        if (!_recentKeys.TryGetValue(keyHash, out var verifiedAt) || Environment.TickCount64 - verifiedAt > RecentKeyMilliseconds)
        {
            return false;
        }
        context.Features.Set(new GateTicket(async hold =>
        {
            var (caller, held) = await AuthenticateApiKeyAsync(context, requirement, ip, keyHash, hold);
            if (caller is not null)
            {
                context.Features.Set(caller);
            }
            return (caller, held);
        }));
        return true;
    }

    private void RememberKey(string keyHash)
    {
        if (_recentKeys.Count >= RecentKeyCapacity && !_recentKeys.ContainsKey(keyHash))
        {
            // Crude, and enough: the set only saves a round trip, and refills from the next requests.
            _recentKeys.Clear();
        }
        _recentKeys[keyHash] = Environment.TickCount64;
    }

    private async Task<CallerContext?> AuthenticatePublicAsync(HttpContext context, CallerRequirement requirement, string ip)
    {
        if (RawApiKey(context) is { } rawKey)
        {
            if (!ApiKeyStore.LooksLikeKey(rawKey))
            {
                return await PassGateAsync(context, ip, null, null) is null ? null : await RejectAsync(context, ip, "malformed_key", "Invalid API key.");
            }
            return (await AuthenticateApiKeyAsync(context, requirement, ip, ApiKeyStore.Hash(rawKey), hold: null)).Caller;
        }
        if (BearerToken(context) is { } token)
        {
            return await AuthenticateWebAsync(context, requirement, ip, token);
        }
        var passed = await PassGateAsync(context, ip, lookup: null, marker: null);
        return passed is null ? null : await RejectAsync(context, ip, "missing_credentials", "Missing credentials: send X-Api-Key, or a Firebase ID token with X-Firebase-AppCheck.");
    }

    /// <summary>The caller, or null when the request was refused and answered; with the hold the gate took, if any.</summary>
    private async Task<(CallerContext? Caller, ReserveResult? Hold)> AuthenticateApiKeyAsync(HttpContext context, CallerRequirement requirement, string ip,
        string keyHash, HoldRequest? hold)
    {
        var passed = await PassGateAsync(context, ip, ApiKeyRedisKeys.Verified(keyHash), ApiKeyRedisKeys.UsedThisHour(keyHash),
            requirement.AllowsApiKey ? requirement.Window : null, hold);
        if (passed is not { } gateResult)
        {
            return (null, null);
        }
        var (check, key) = await keys.VerifyAsync(keyHash, gateResult.CachedEntry, context.RequestAborted);
        if (key is null)
        {
            var reason = check switch { KeyCheck.Expired => "expired_key", KeyCheck.Revoked => "revoked_key", _ => "invalid_key" };
            return (await RejectAsync(context, ip, reason, check == KeyCheck.Expired ? "API key expired." : "Invalid API key."), gateResult.Hold);
        }
        if (!requirement.AllowsApiKey)
        {
            await ErrorAsync(context, StatusCodes.Status403Forbidden, "This endpoint requires a signed-in web session; API keys are not accepted here.");
            return (null, null);
        }
        // Redis down under `allow`: the marker never comes back set, and last_used_at waits for Redis.
        if (gateResult.FirstUseThisHour)
        {
            keys.TouchInBackground(key);
        }
        RememberKey(keyHash);
        var caller = new CallerContext(CallerSource.ApiKey, key.UserId, key.Plan, KeyId: key.KeyId);
        // A cached key's owner went through the per-user window inside the gate script already.
        return (await users.AdmitAsync(context, caller, requirement.Window, ip, gateResult.User) ? caller : null, gateResult.Hold);
    }

    private async Task<CallerContext?> AuthenticateWebAsync(HttpContext context, CallerRequirement requirement, string ip, string idToken)
    {
        var appCheckToken = context.Request.Headers[AppCheckHeader].ToString();
        if (appCheckToken.Length == 0)
        {
            return await PassGateAsync(context, ip, null, null) is null ? null : await RejectAsync(context, ip, "missing_app_check", "Missing X-Firebase-AppCheck token.");
        }
        // App Check first: a request from outside the registered apps is refused before its user token is looked at.
        var app = await tokens.VerifyAppCheckTokenAsync(appCheckToken, context.RequestAborted);
        var user = app.Identity is null ? null : await tokens.VerifyFirebaseIdTokenAsync(idToken, context.RequestAborted);
        if (app.KeysUnavailable || user?.KeysUnavailable == true)
        {
            return await PassGateAsync(context, ip, null, null) is null ? null : await KeysUnavailableAsync(context);
        }
        if (app.Identity is null || user?.Identity is null)
        {
            return await PassGateAsync(context, ip, null, null) is null
                ? null
                : await RejectAsync(context, ip, app.FailureReason ?? user!.FailureReason!, "Invalid or expired credentials.");
        }

        var identity = user.Identity;
        var passed = await PassGateAsync(context, ip, ApiKeyRedisKeys.Plan(identity.UserId), marker: null);
        if (passed is not { } gateResult)
        {
            return null;
        }
        if (requirement.RequiresAdmin && !identity.IsAdmin)
        {
            await ErrorAsync(context, StatusCodes.Status403Forbidden, "Administrator access required.");
            return null;
        }
        var plan = await keys.ResolvePlanAsync(identity.UserId, gateResult.CachedEntry, context.RequestAborted);
        var caller = new CallerContext(CallerSource.Web, identity.UserId, plan, IsAdmin: identity.IsAdmin);
        return await users.AdmitAsync(context, caller, requirement.Window, ip) ? caller : null;
    }

    /// <summary>Null when the request was answered (blocked or over the address limit).</summary>
    private async Task<GateResult?> PassGateAsync(HttpContext context, string ip, RedisKey? lookup, RedisKey? marker, UserWindow? keyOwnerWindow = null,
        HoldRequest? hold = null)
    {
        // Safe to run again after a timeout that is this process's slowness: the windows know the member, the hold its id.
        var member = RedisGate.NewMember();
        var result = await guard.RunAsync(async () => await gate.PassAsync(ip, limitIp: true, lookup, marker, keyOwnerWindow, hold, member),
            new GateResult(GateVerdict.Pass, TimeSpan.Zero, RedisValue.Null, FirstUseThisHour: false), repeatable: true);
        switch (result.Verdict)
        {
            case GateVerdict.IpBlocked:
                audit.Record(AuditEventTypes.RateLimited, context, ip: ip, reason: "ip_blocked");
                await UserLimits.TooManyAsync(context, ErrorCodes.IpRateLimited, "Too many failed authentication attempts from this address; it is blocked for a while.", result.RetryAfter, plan: null);
                return null;
            case GateVerdict.IpLimited:
                audit.Record(AuditEventTypes.RateLimited, context, ip: ip, reason: "limit_per_ip");
                await UserLimits.TooManyAsync(context, ErrorCodes.IpRateLimited, "Too many requests from this address.", result.RetryAfter, plan: null);
                return null;
            default:
                return result;
        }
    }

    private async Task<CallerContext?> RejectAsync(HttpContext context, string ip, string reason, string detail)
    {
        audit.Record(AuditEventTypes.AuthFailure, context, ip: ip, reason: reason);
        var blockedNow = await guard.RunAsync(async () => await gate.RecordAuthFailureAsync(ip), false);
        if (blockedNow)
        {
            logger.LogWarning("Address blocked after repeated authentication failures");
            audit.Record(AuditEventTypes.IpBlocked, context, ip: ip, reason: reason);
        }
        await ErrorAsync(context, StatusCodes.Status401Unauthorized, detail);
        return null;
    }

    /// <summary>Google's key sets cannot be had: a 503 to retry, and no failed login counted against the address.</summary>
    private static async Task<CallerContext?> KeysUnavailableAsync(HttpContext context)
    {
        context.Response.Headers.RetryAfter = KeysUnavailableRetrySeconds;
        await ErrorAsync(context, StatusCodes.Status503ServiceUnavailable, "Sign-in tokens cannot be verified right now; retry shortly.");
        return null;
    }

    private static Task ErrorAsync(HttpContext context, int status, string detail)
    {
        context.Response.StatusCode = status;
        return ErrorHandling.WriteDetail(context, detail);
    }

    /// <summary>
    /// The API key sent, if any. OpenAI-compatible clients send theirs as <c>Authorization: Bearer inf_...</c>.
    /// A bearer value with our key prefix is an API key, never a Firebase ID token (those are JWTs), so it takes
    /// the X-Api-Key path unchanged: same checks, rate limits and audit events. X-Api-Key wins if both are sent.
    /// </summary>
    private static string? RawApiKey(HttpContext context)
    {
        var header = context.Request.Headers[ApiKeyHeader].ToString();
        if (header.Length > 0)
        {
            return header;
        }
        return BearerToken(context) is { } bearer && bearer.StartsWith(ApiKeyStore.KeyPrefix, StringComparison.Ordinal) ? bearer : null;
    }

    private static string? BearerToken(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && header.Length > 7 ? header[7..].Trim() : null;
    }
}
