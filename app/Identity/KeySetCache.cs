using Microsoft.IdentityModel.Tokens;

namespace Majestix.InferenceApi.Identity;

/// <summary>
/// One published JSON Web Key Set, cached for its Cache-Control max-age and refetched early when a
/// token names a key id it does not hold (keys rotate). Early refetches are rate limited so garbage
/// key ids cannot turn every request into an outbound fetch.
/// </summary>
internal sealed class KeySetCache(HttpClient http, Uri url, TimeSpan defaultLifetime, TimeProvider time)
{
    private static readonly TimeSpan MinimumRefetchInterval = TimeSpan.FromSeconds(30);
    private readonly Lock _gate = new();
    private volatile Snapshot? _snapshot;
    private Task<Snapshot>? _inflight;

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
        // One fetch in flight at a time; concurrent callers share it.
        Task<Snapshot> fetch;
        lock (_gate)
        {
            if (_inflight is null || _inflight.IsCompleted)
            {
                _inflight = FetchAndStoreAsync();
            }
            fetch = _inflight;
        }
        return (await fetch.WaitAsync(cancellationToken)).Keys;
    }

    private async Task<Snapshot> FetchAndStoreAsync()
    {
        var snapshot = await FetchAsync(CancellationToken.None);
        _snapshot = snapshot;
        return snapshot;
    }

    private async Task<Snapshot> FetchAsync(CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(url, cancellationToken);
        response.EnsureSuccessStatusCode();
        var json = await response.Content.ReadAsStringAsync(cancellationToken);
        var keys = new JsonWebKeySet(json).GetSigningKeys();
        var maxAge = response.Headers.CacheControl?.MaxAge;
        var lifetime = maxAge is { } age && age > TimeSpan.Zero ? age : defaultLifetime;
        var now = time.GetUtcNow();
        return new Snapshot([.. keys], now, now + lifetime);
    }

    private sealed record Snapshot(IReadOnlyList<SecurityKey> Keys, DateTimeOffset FetchedAt, DateTimeOffset ExpiresAt)
    {
        public bool Contains(string keyId) => Keys.Any(k => k.KeyId == keyId);
    }
}
