using System.Globalization;
using System.Text.Json;
using Majestix.Fernet;
using Majestix.InferenceApi.Identity;
using Majestix.InferenceApi.Redis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Majestix.InferenceApi.Sessions;

/// <summary>
/// Chat sessions in Redis: a meta hash and the history as one Fernet token, both expiring by plan.
/// The whole history is one token, not one per message, because trimming to the newest messages and
/// key rotation both rewrite it anyway: every write re-encrypts all of it under the newest key, a read
/// is one value, and Redis sees neither message boundaries nor sizes. Lua cannot decrypt, so an append
/// is read, decrypt, merge, encrypt here, then one script stores the token only if the meta version is
/// still the one read (otherwise it re-reads and tries again): concurrent appends never lose a message.
/// Every script checks the owner, so another user's session is indistinguishable from a missing one.
/// </summary>
internal sealed class SessionStore
{
    private const int MaxAppendAttempts = 50;

    // KEYS: meta, history. ARGV: owner. Returns nil (missing or not owned) or {plan, model, created_at, updated_at, version, token|nil}.
    private static readonly RedisScript ReadScript = new("""
        local meta = redis.call('HMGET', KEYS[1], 'owner', 'plan', 'model', 'created_at', 'updated_at', 'version')
        if meta[1] ~= ARGV[1] then return false end
        return {meta[2], meta[3], meta[4], meta[5], meta[6], redis.call('GET', KEYS[2])}
        """);

    // KEYS: meta. ARGV: owner, plan, model, now ms, ttl s. Atomic so a meta hash never exists without its expiry.
    private static readonly RedisScript CreateScript = new("""
        redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'plan', ARGV[2], 'model', ARGV[3],
          'created_at', ARGV[4], 'updated_at', ARGV[4], 'message_count', '0', 'version', '0')
        redis.call('EXPIRE', KEYS[1], ARGV[5])
        return 1
        """);

    // KEYS: meta, history. ARGV: owner, expected version, token, now ms, message count, ttl s.
    // Returns 1 written, 0 version moved on (re-read and retry), -1 missing or not owned.
    private static readonly RedisScript WriteScript = new("""
        local meta = redis.call('HMGET', KEYS[1], 'owner', 'version')
        if meta[1] ~= ARGV[1] then return -1 end
        if meta[2] ~= ARGV[2] then return 0 end
        redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[6])
        redis.call('HSET', KEYS[1], 'updated_at', ARGV[4], 'message_count', ARGV[5])
        redis.call('HINCRBY', KEYS[1], 'version', 1)
        redis.call('EXPIRE', KEYS[1], ARGV[6])
        return 1
        """);

    // KEYS: meta, history. ARGV: owner. Returns 1 deleted, 0 missing or not owned.
    private static readonly RedisScript DeleteScript = new("""
        if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
        redis.call('DEL', KEYS[1], KEYS[2])
        return 1
        """);

    private readonly IDatabase _redis;
    private readonly RedisGuard _guard;
    private readonly SessionOptions _options;
    private readonly FernetKeyRing _keys;
    private readonly TimeProvider _time;
    private readonly ILogger<SessionStore> _logger;

    public SessionStore(IDatabase redis, RedisGuard guard, IOptions<SessionOptions> options, TimeProvider time, ILogger<SessionStore> logger)
    {
        _redis = redis;
        _guard = guard;
        _options = options.Value;
        _keys = FernetKeyRing.Parse(_options.FernetKeys, time);
        _time = time;
        _logger = logger;
    }

    /// <summary>
    /// Starts an empty session owned by the caller, expiring by the caller's plan. Under
    /// <c>REDIS_FAILURE_POLICY=allow</c> with Redis down the id is still returned; the session is simply not kept.
    /// </summary>
    public async Task<string> CreateAsync(CallerContext caller, string model)
    {
        ArgumentException.ThrowIfNullOrEmpty(model);
        var owner = OwnerOf(caller);
        var sessionId = SessionIds.New();
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        await _guard.RunAsync(async () => await CreateScript.EvaluateAsync(_redis, [SessionKeys.Meta(sessionId)],
            [owner, caller.Plan.WireName(), model, now, TtlSeconds(caller.Plan)]), RedisResult.Create(0));
        return sessionId;
    }

    /// <summary>The caller's session, or null when it is missing, not theirs, or its history no longer decrypts.</summary>
    public async Task<Session?> LoadAsync(string sessionId, CallerContext caller)
    {
        var owner = OwnerOf(caller);
        if (!SessionIds.IsWellFormed(sessionId))
        {
            return null;
        }

        var reply = await _guard.RunAsync(async () => await ReadScript.EvaluateAsync(_redis,
            [SessionKeys.Meta(sessionId), SessionKeys.History(sessionId)], [owner]), RedisResult.Create(RedisValue.Null));
        if (reply.IsNull)
        {
            return null;
        }

        var fields = (RedisResult[])reply!;
        var token = (string?)fields[5];
        var messages = token is null ? [] : Unseal(sessionId, owner, token);
        return messages is null
            ? null
            : new Session(sessionId, owner, Plans.Parse((string?)fields[0]), (string?)fields[1] ?? "",
                Timestamp(fields[2]), Timestamp(fields[3]), messages, (long)fields[4]);
    }

    /// <summary>Appends to the caller's session; see <see cref="AppendAsync(Session, CallerContext, IReadOnlyList{SessionMessage}, CancellationToken)"/>.</summary>
    public async Task<Session?> AppendAsync(string sessionId, CallerContext caller, IReadOnlyList<SessionMessage> messages,
        CancellationToken cancellationToken = default)
    {
        var loaded = await LoadAsync(sessionId, caller);
        return loaded is null ? null : await AppendAsync(loaded, caller, messages, cancellationToken);
    }

    /// <summary>
    /// Appends messages to a session the caller loaded, keeps the newest <c>MAX_HISTORY</c>, and restarts
    /// both keys' expiry by the caller's current plan. One round trip when nobody wrote in between;
    /// otherwise it re-reads and merges onto the newer history. Null when the session is gone or not theirs.
    /// </summary>
    public async Task<Session?> AppendAsync(Session loaded, CallerContext caller, IReadOnlyList<SessionMessage> messages,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(loaded);
        ArgumentNullException.ThrowIfNull(messages);
        foreach (var message in messages)
        {
            Validate(message);
        }
        var owner = OwnerOf(caller);
        if (loaded.OwnerId != owner)
        {
            return null;
        }

        var current = loaded;
        for (var attempt = 1; ; attempt++)
        {
            var kept = Trim([.. current.Messages.Concat(messages)], _options.MaxHistory);
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            var token = Seal(current.Id, owner, kept);
            var outcome = await _guard.RunAsync(async () => (int)await WriteScript.EvaluateAsync(_redis,
                [SessionKeys.Meta(current.Id), SessionKeys.History(current.Id)],
                [owner, current.Version, token, now, kept.Count, TtlSeconds(caller.Plan)]), -1);
            if (outcome == 1)
            {
                return current with { Messages = kept, UpdatedAt = DateTimeOffset.FromUnixTimeMilliseconds(now), Version = current.Version + 1 };
            }
            if (outcome == -1)
            {
                return null;
            }
            if (attempt == MaxAppendAttempts)
            {
                throw new InvalidOperationException($"Session {current.Id} kept changing under {MaxAppendAttempts} append attempts.");
            }

            // Jitter spreads out writers that collided, so each round lets one of them through.
            await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(0, Math.Min(attempt * 2, 20) + 1)), _time, cancellationToken);
            var reloaded = await LoadAsync(current.Id, caller);
            if (reloaded is null)
            {
                return null;
            }
            current = reloaded;
        }
    }

    /// <summary>Deletes the caller's session; false when it is missing or not theirs.</summary>
    public async Task<bool> DeleteAsync(string sessionId, CallerContext caller)
    {
        var owner = OwnerOf(caller);
        if (!SessionIds.IsWellFormed(sessionId))
        {
            return false;
        }
        return await _guard.RunAsync(async () => (int)await DeleteScript.EvaluateAsync(_redis,
            [SessionKeys.Meta(sessionId), SessionKeys.History(sessionId)], [owner]) == 1, false);
    }

    private string Seal(string sessionId, string owner, IReadOnlyList<SessionMessage> messages) =>
        _keys.Encrypt(JsonSerializer.SerializeToUtf8Bytes(new SealedHistory(sessionId, owner, messages), SessionsJson.Default.SealedHistory));

    private List<SessionMessage>? Unseal(string sessionId, string owner, string token)
    {
        SealedHistory? history = null;
        if (_keys.TryDecrypt(token, timeToLive: null, out var plaintext))
        {
            try
            {
                history = JsonSerializer.Deserialize(plaintext, SessionsJson.Default.SealedHistory);
            }
            catch (JsonException)
            {
                history = null;
            }
        }
        if (history is null || history.SessionId != sessionId || history.Owner != owner)
        {
            // The session stays until it expires rather than being deleted: a key removed by mistake
            // can be put back, and the history reads again. The token itself is never logged.
            _logger.LogWarning("History of session {SessionId} does not decrypt with any configured key or is not bound to it; treating it as gone",
                sessionId);
            return null;
        }
        // A history written before trimming knew about tool pairs can start with an orphan; it is never sent on.
        return WithoutOrphanedToolResults(history.Messages);
    }

    /// <summary>
    /// The newest <paramref name="maxHistory"/> messages, less any at the start that answer a <c>tool_use</c> the cut
    /// left behind (a provider rejects a <c>tool_result</c> whose <c>tool_use</c> it was not sent). When that leaves the
    /// model's turn first (a long tool loop: only tool calls and their results in the window), the user's opening message,
    /// which states the task, takes the oldest place instead, since Anthropic requires a user message first.
    /// </summary>
    internal static List<SessionMessage> Trim(IReadOnlyList<SessionMessage> messages, int maxHistory)
    {
        var newest = WithoutOrphanedToolResults([.. messages.TakeLast(maxHistory)]);
        var opening = messages.Count > 0 ? messages[0] : null;
        if (messages.Count <= maxHistory || maxHistory < 2 || newest.Count == 0 || newest[0].Role == SessionRoles.User
            || opening is null || opening.Role != SessionRoles.User || CarriesToolResult(opening))
        {
            return newest;
        }
        return [opening, .. WithoutOrphanedToolResults([.. messages.Skip(1).TakeLast(maxHistory - 1)])];
    }

    private static List<SessionMessage> WithoutOrphanedToolResults(IReadOnlyList<SessionMessage> messages)
    {
        var start = 0;
        while (start < messages.Count && CarriesToolResult(messages[start]))
        {
            start++;
        }
        return [.. messages.Skip(start)];
    }

    // Nothing precedes the first message, so a tool_result there has lost its tool_use.
    private static bool CarriesToolResult(SessionMessage message) =>
        message.Role == SessionRoles.User
        && message.Content.ValueKind == JsonValueKind.Array
        && message.Content.EnumerateArray().Any(block => block.ValueKind == JsonValueKind.Object
            && block.TryGetProperty("type", out var type) && type.ValueEquals("tool_result"));

    private long TtlSeconds(Plan plan) => (long)_options.TtlFor(plan).TotalSeconds;

    private static string OwnerOf(CallerContext caller)
    {
        ArgumentNullException.ThrowIfNull(caller);
        return caller.UserId is { Length: > 0 } userId
            ? userId
            : throw new ArgumentException("Sessions belong to a user; this caller carries no user id.", nameof(caller));
    }

    private static void Validate(SessionMessage message)
    {
        if (message.Role is not (SessionRoles.User or SessionRoles.Assistant))
        {
            throw new ArgumentException($"A session message's role is '{SessionRoles.User}' or '{SessionRoles.Assistant}'.", nameof(message));
        }
        if (message.Content.ValueKind is not (JsonValueKind.String or JsonValueKind.Array))
        {
            throw new ArgumentException("A session message's content is a string or an array of content blocks.", nameof(message));
        }
    }

    private static DateTimeOffset Timestamp(RedisResult value) =>
        DateTimeOffset.FromUnixTimeMilliseconds(long.Parse((string)value!, CultureInfo.InvariantCulture));
}
