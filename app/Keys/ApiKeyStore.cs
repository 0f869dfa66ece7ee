using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Majestix.GoogleCloud.Firestore;
using Majestix.InferenceApi.Identity;
using Majestix.InferenceApi.Redis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Majestix.InferenceApi.Keys;

/// <summary>A key that verified: who owns it and on which plan.</summary>
internal sealed record VerifiedKey(string UserId, string KeyId, Plan Plan, DateTimeOffset ExpiresAt);

internal enum KeyCheck
{
    Valid,
    Unknown,
    Expired,
    Revoked,
}

/// <summary>
/// API keys: Firestore holds the records (hash only), Redis caches verified keys for a short time.
/// Misses and failures are never cached, and revocation leaves a tombstone so a lookup racing the
/// revoke cannot put the key back into the cache.
/// </summary>
internal sealed class ApiKeyStore(
    FirestoreClient firestore,
    IDatabase redis,
    RedisGuard guard,
    IOptions<ApiKeyOptions> options,
    TimeProvider time,
    ILogger<ApiKeyStore> logger)
{
    public const string KeyPrefix = "inf_";
    private const string Collection = "api_keys";
    private const int MaxKeyLength = 128;
    private const int MaxNameLength = 64;

    // Creates for one user serialize on a lock document; a burst of them retries quickly and often
    // rather than backing off for seconds. Exhausted, the caller gets a retryable 409.
    private static readonly FirestoreTransactionOptions CreateContention = new()
    {
        MaxAttempts = 12,
        InitialBackoff = TimeSpan.FromMilliseconds(25),
        MaxBackoff = TimeSpan.FromMilliseconds(800),
        BackoffMultiplier = 2,
    };

    private ApiKeyOptions Settings => options.Value;

    public static string Hash(string rawKey) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(rawKey)));

    /// <summary>Cheap shape check before any lookup: clients reject keys under 20 characters too.</summary>
    public static bool LooksLikeKey(string rawKey) =>
        rawKey.Length is >= 20 and <= MaxKeyLength
        && rawKey.StartsWith(KeyPrefix, StringComparison.Ordinal)
        && rawKey.AsSpan(KeyPrefix.Length).IndexOfAnyExcept(Base64UrlAlphabet) < 0;

    private static readonly System.Buffers.SearchValues<char> Base64UrlAlphabet =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    /// <summary>Resolves a key from the gate's cache entry, or Firestore on a miss (then caches it).</summary>
    public async Task<(KeyCheck Check, VerifiedKey? Key)> VerifyAsync(string keyHash, RedisValue cachedEntry, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (cachedEntry == ApiKeyRedisKeys.Tombstone)
        {
            return (KeyCheck.Revoked, null);
        }
        if (TryParseEntry(cachedEntry, out var cached))
        {
            return cached.ExpiresAt <= now ? (KeyCheck.Expired, null) : (KeyCheck.Valid, cached);
        }

        var matches = await firestore.Collection(Collection)
            .Where("key_hash", FirestoreFilterOperator.Equal, keyHash)
            .Limit(1)
            .GetAsync(cancellationToken);
        if (matches.Count == 0)
        {
            return (KeyCheck.Unknown, null);
        }
        var record = matches[0].ConvertTo(AppJson.Default.ApiKeyRecord);
        if (record.Status != "active")
        {
            return (KeyCheck.Revoked, null);
        }
        if (record.ExpiresAt <= now)
        {
            return (KeyCheck.Expired, null);
        }

        var plan = await ReadPlanAsync(record.UserId, cancellationToken);
        var verified = new VerifiedKey(record.UserId, record.KeyId, plan, record.ExpiresAt);
        var ttl = Min(TimeSpan.FromMinutes(Settings.CacheMinutes), record.ExpiresAt - now);
        // NX on the entry: a tombstone written by a concurrent revoke wins over this (older) read.
        // The first-use marker rides in the same round trip; the gate sets it on cache hits.
        var firstUse = await guard.RunAsync(async () =>
        {
            var batch = redis.CreateBatch();
            var cached = batch.StringSetAsync(ApiKeyRedisKeys.Verified(keyHash), FormatEntry(verified), ttl, When.NotExists);
            var marked = batch.StringSetAsync(ApiKeyRedisKeys.UsedThisHour(keyHash), "1", TimeSpan.FromHours(1), When.NotExists);
            batch.Execute();
            await cached;
            return await marked;
        }, false);
        if (firstUse)
        {
            TouchInBackground(verified);
        }
        return (KeyCheck.Valid, verified);
    }

    /// <summary>Writes last_used_at; called at most once an hour per key (the gate's marker decides).</summary>
    public void TouchInBackground(VerifiedKey key)
    {
        var now = time.GetUtcNow();
        _ = Task.Run(async () =>
        {
            try
            {
                await firestore.UpdateAsync($"{Collection}/{key.KeyId}",
                    new Dictionary<string, FirestoreValue> { ["last_used_at"] = now });
            }
            catch (Exception exception) when (exception is FirestoreException or HttpRequestException or TaskCanceledException)
            {
                logger.LogWarning(exception, "Could not record last use of key {KeyId}", key.KeyId);
            }
        });
    }

    public async Task<Plan> ReadPlanAsync(string userId, CancellationToken cancellationToken)
    {
        var user = await firestore.GetAsync($"users/{userId}", AppJson.Default.UserPlanRecord, cancellationToken);
        return Plans.Parse(user?.Plan);
    }

    /// <summary>Web callers' plan: the gate's cached value, else Firestore (then cached for ten minutes).</summary>
    public async Task<Plan> ResolvePlanAsync(string userId, RedisValue cachedPlan, CancellationToken cancellationToken)
    {
        if (cachedPlan.HasValue)
        {
            return Plans.Parse(cachedPlan);
        }
        var plan = await ReadPlanAsync(userId, cancellationToken);
        // NX: a plan published while this read was on its way is newer than what it read.
        await guard.RunAsync(async () => await redis.StringSetAsync(ApiKeyRedisKeys.Plan(userId), plan.WireName(), TimeSpan.FromMinutes(10), When.NotExists), false);
        return plan;
    }

    /// <summary>
    /// The hook for a plan change: every cached API key of the user, and its web sessions, use <paramref name="plan"/> from
    /// the next request on (limits, models, holds), not once their cache entries expire. The gate script reads the plan
    /// published here ahead of the one a key entry carries, so the cached-key gate stays one round trip. Call it after the
    /// user document holds the new plan: <c>/credits/refresh</c> does, and billing will when a subscription changes it.
    /// </summary>
    public async Task PublishPlanAsync(string userId, Plan plan)
    {
        // Outlives every key entry cached before it, plus a minute for a Firestore read that raced the change.
        var lifetime = TimeSpan.FromMinutes(Settings.CacheMinutes + 1);
        await guard.RunAsync(async () => await redis.StringSetAsync(ApiKeyRedisKeys.Plan(userId), plan.WireName(), lifetime), false);
    }

    public static string? ValidateName(string? name)
    {
        if (name is null)
        {
            return null;
        }
        if (name.Trim().Length == 0 || name.Length > MaxNameLength)
        {
            return $"name must be 1 to {MaxNameLength} characters";
        }
        return name.Any(char.IsControl) ? "name must not contain control characters" : null;
    }

    /// <summary>Creates a key unless the user already has the maximum; the raw key is returned once, here.</summary>
    public async Task<CreatedApiKey?> CreateAsync(string userId, string? name, CancellationToken cancellationToken)
    {
        var rawKey = KeyPrefix + Base64Url(RandomNumberGenerator.GetBytes(32));
        var now = time.GetUtcNow();
        var record = new ApiKeyRecord(
            KeyId: "key_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(10)),
            UserId: userId,
            Name: string.IsNullOrWhiteSpace(name) ? "Default" : name.Trim(),
            Prefix: rawKey[..12],
            KeyHash: Hash(rawKey),
            Status: "active",
            CreatedAt: now,
            ExpiresAt: now.AddDays(Settings.LifetimeDays),
            LastUsedAt: null);

        var created = await firestore.RunTransactionAsync<bool>(async transaction =>
        {
            // Every create for this user reads and writes the same lock document, so concurrent
            // creates conflict and retry one after another instead of both passing the count.
            await transaction.GetAsync(LockPath(userId), cancellationToken);
            var active = await transaction.QueryAsync(ActiveKeysOf(userId), cancellationToken);
            if (active.Count(d => d.ConvertTo(AppJson.Default.ApiKeyRecord).ExpiresAt > now) >= Settings.MaxActivePerUser)
            {
                return false;
            }
            transaction.Create($"{Collection}/{record.KeyId}", record, AppJson.Default.ApiKeyRecord);
            transaction.Set(LockPath(userId), new Dictionary<string, FirestoreValue> { ["updated_at"] = now });
            return true;
        }, CreateContention, cancellationToken);

        return created ? new CreatedApiKey(record.KeyId, rawKey, record.Name, record.CreatedAt, record.ExpiresAt) : null;
    }

    public async Task<IReadOnlyList<ApiKeySummary>> ListAsync(string userId, CancellationToken cancellationToken)
    {
        var documents = await firestore.Collection(Collection)
            .Where("user_id", FirestoreFilterOperator.Equal, userId)
            .GetAsync(cancellationToken);
        var now = time.GetUtcNow();
        return [.. documents
            .Select(d => d.ConvertTo(AppJson.Default.ApiKeyRecord))
            .OrderByDescending(r => r.CreatedAt)
            .Select(r => new ApiKeySummary(r.KeyId, r.Name, r.Prefix, r.ExpiresAt <= now ? "expired" : r.Status, r.CreatedAt, r.LastUsedAt, r.ExpiresAt))];
    }

    /// <summary>Deletes the caller's key and evicts it from the cache; false when it is not theirs or not there.</summary>
    public async Task<bool> RevokeAsync(string userId, string keyId, CancellationToken cancellationToken)
    {
        if (keyId.Length > 64 || keyId.Contains('/', StringComparison.Ordinal))
        {
            return false;
        }
        var record = await firestore.GetAsync($"{Collection}/{keyId}", AppJson.Default.ApiKeyRecord, cancellationToken);
        if (record is null || record.UserId != userId)
        {
            return false;
        }
        // Tombstone first (outlives any cache entry), then the record: no instance can trust the key after this.
        await redis.StringSetAsync(ApiKeyRedisKeys.Verified(record.KeyHash), ApiKeyRedisKeys.Tombstone, TimeSpan.FromMinutes(Settings.CacheMinutes));
        await firestore.DeleteAsync($"{Collection}/{keyId}", cancellationToken: cancellationToken);
        return true;
    }

    private FirestoreQuery ActiveKeysOf(string userId) =>
        firestore.Collection(Collection)
            .Where("user_id", FirestoreFilterOperator.Equal, userId)
            .Where("status", FirestoreFilterOperator.Equal, "active");

    private static string LockPath(string userId) => $"api_key_locks/{userId}";

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static string FormatEntry(VerifiedKey key) =>
        string.Create(CultureInfo.InvariantCulture, $"v1|{key.UserId}|{key.KeyId}|{key.Plan.WireName()}|{key.ExpiresAt.ToUnixTimeSeconds()}");

    private static bool TryParseEntry(RedisValue entry, out VerifiedKey key)
    {
        key = null!;
        if (!entry.HasValue)
        {
            return false;
        }
        var parts = ((string)entry!).Split('|');
        if (parts.Length != 5 || parts[0] != "v1" || !long.TryParse(parts[4], CultureInfo.InvariantCulture, out var expires))
        {
            return false;
        }
        key = new VerifiedKey(parts[1], parts[2], Plans.Parse(parts[3]), DateTimeOffset.FromUnixTimeSeconds(expires));
        return true;
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
