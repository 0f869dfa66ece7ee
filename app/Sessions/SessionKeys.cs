using StackExchange.Redis;

namespace Majestix.InferenceApi.Sessions;

/// <summary>Every Redis key the sessions feature uses (the configured key prefix is added by the database).</summary>
internal static class SessionKeys
{
    /// <summary>
    /// Hash: owner, plan (at creation), model, created_at and updated_at (Unix ms), message_count, and
    /// version, which every history write bumps so concurrent appends can compare-and-set.
    /// </summary>
    public static RedisKey Meta(string sessionId) => $"session:{sessionId}:meta";

    /// <summary>String: one Fernet token of the whole history (see <see cref="SessionStore"/>).</summary>
    public static RedisKey History(string sessionId) => $"session:{sessionId}:history";
}
