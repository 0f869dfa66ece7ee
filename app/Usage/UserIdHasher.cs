using System.Security.Cryptography;
using System.Text;

namespace Majestix.InferenceApi.UsageEvents;

/// <summary>
/// The opaque <c>user_id</c> of usage events: HMAC-SHA256 of the Firebase UID, 128 bits as hex. Stable for
/// one salt, so analytics can group by user and support can find one user's rows by hashing the UID.
/// </summary>
internal sealed class UserIdHasher
{
    // The salt may be the audit one (see UsageOptions): a key derived for this purpose alone keeps a usage
    // hash from ever equalling the audit ip_hash of the same text.
    private static readonly byte[] Purpose = "majestix usage_events.user_id v1"u8.ToArray();

    private readonly byte[] _key;

    public UserIdHasher(string salt)
    {
        ArgumentException.ThrowIfNullOrEmpty(salt);
        _key = HMACSHA256.HashData(Encoding.UTF8.GetBytes(salt), Purpose);
    }

    public string Hash(string userId)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        return Convert.ToHexStringLower(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(userId)))[..32];
    }
}
