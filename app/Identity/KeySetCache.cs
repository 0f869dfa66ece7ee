using System.Text.Json;
using Microsoft.IdentityModel.Tokens;

namespace Majestix.InferenceApi.Identity;

/// <summary>The key set cannot be had: nothing fetched yet, or the last good one is older than the staleness allows.</summary>
internal sealed class KeySetUnavailableException(Uri url, Exception? inner = null)
    : Exception($"The key set at {url} cannot be fetched and no usable copy is cached.", inner);

/// <summary>
/// One published JSON Web Key Set, cached for its Cache-Control max-age and refetched early when a
/// token names a key id it does not hold (keys rotate). Early refetches are rate limited so garbage
/// key ids cannot turn every request into an outbound fetch. When a refresh fails the last good set
/// keeps serving, up to <c>maxStale</c> past its expiry, and fetches are retried no more than every
/// few seconds; with no usable set the caller gets <see cref="KeySetUnavailableException"/>, which is
/// an outage of ours, not a bad token.
/// </summary>
internal sealed class KeySetCache(HttpClient http, Uri url, TimeSpan defaultLifetime, TimeSpan maxStale, TimeProvider time, ILogger logger)
{
    private static readonly TimeSpan MinimumRefetchInterval = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan RetryAfterFailure = TimeSpan.FromSeconds(5);
    private readonly Lock _gate = new();
    private volatile Snapshot? _snapshot;
    private volatile Failure? _lastFailure;
    private Task<Snapshot?>? _inflight;

    public Uri Url => url;

    public async ValueTask<IReadOnlyList<SecurityKey>> GetKeysAsync(string? keyId, CancellationToken cancellationToken)
    {
        var snapshot = _snapshot;
        var now = time.GetUtcNow();
        if (snapshot is not null && now < snapshot.ExpiresAt && (keyId is null || snapshot.Contains(keyId)))
        {
            return snapshot.Keys;
        }

        var unknownKey = keyId is not null && snapshot is not null && !snapshot.Contains(keyId);
        if (snapshot is not null && now < snapshot.ExpiresAt && unknownKey && now - snapshot.FetchedAt < MinimumRefetchInterval)
        {
            return snapshot.Keys;
        }
        if (_lastFailure is { } failure && now - failure.At < RetryAfterFailure)
        {
            return Fallback(snapshot, keyId, now, failure.Exception);
        }
        // One fetch in flight at a time; concurrent callers share it.
        Task<Snapshot?> fetch;
        lock (_gate)
        {
            if (_inflight is null || _inflight.IsCompleted)
            {
                _inflight = FetchAndStoreAsync();
            }
            fetch = _inflight;
        }
        var fetched = await fetch.WaitAsync(cancellationToken);
        return fetched is not null ? fetched.Keys : Fallback(_snapshot, keyId, time.GetUtcNow(), _lastFailure?.Exception);
    }

    /// <summary>
    /// The last good set while it is within the staleness bound. A key id it does not hold cannot be judged
    /// without a fresh set, so that is unavailable too rather than a signature failure counted against the caller.
    /// </summary>
    private IReadOnlyList<SecurityKey> Fallback(Snapshot? snapshot, string? keyId, DateTimeOffset now, Exception? cause)
    {
        if (snapshot is not null && now < snapshot.ExpiresAt + maxStale && (keyId is null || snapshot.Contains(keyId)))
        {
            return snapshot.Keys;
        }
        throw new KeySetUnavailableException(url, cause);
    }

    private async Task<Snapshot?> FetchAndStoreAsync()
    {
        try
        {
            var snapshot = await FetchAsync(CancellationToken.None);
            _snapshot = snapshot;
            _lastFailure = null;
            return snapshot;
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException or JsonException or ArgumentException)
        {
            // ArgumentException: what JsonWebKeySet throws for a body that is not a key set.
            _lastFailure = new Failure(time.GetUtcNow(), exception);
            var stale = _snapshot;
            logger.LogWarning(exception, "Refreshing the key set at {KeySetUrl} failed; the last good set (none when empty) expires {ExpiresAt} and serves until {StaleUntil}",
                url, stale?.ExpiresAt, stale?.ExpiresAt + maxStale);
            return null;
        }
    }

    private async Task<Snapshot> FetchAsync(CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(url, cancellationToken);
        response.EnsureSuccessStatusCode();
        var json = await response.Content.ReadAsStringAsync(cancellationToken);
        var keys = new JsonWebKeySet(json).GetSigningKeys();
        if (keys.Count == 0)
        {
            throw new ArgumentException("The key set holds no signing keys.");
        }
        var maxAge = response.Headers.CacheControl?.MaxAge;
        var lifetime = maxAge is { } age && age > TimeSpan.Zero ? age : defaultLifetime;
        var now = time.GetUtcNow();
        return new Snapshot([.. keys], now, now + lifetime);
    }

    private sealed record Snapshot(IReadOnlyList<SecurityKey> Keys, DateTimeOffset FetchedAt, DateTimeOffset ExpiresAt)
    {
        public bool Contains(string keyId) => Keys.Any(k => k.KeyId == keyId);
    }

    private sealed record Failure(DateTimeOffset At, Exception Exception);
}
