using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using Majestix.InferenceApi.Identity;

namespace Majestix.InferenceApi.Sessions;

public static class SessionRoles
{
    public const string User = "user";
    public const string Assistant = "assistant";
}

/// <summary>
/// One turn. <see cref="Content"/> is kept as raw JSON, a string or an array of content blocks, so
/// <c>tool_use</c> and <c>tool_result</c> blocks survive storage untouched.
/// </summary>
public sealed record SessionMessage(string Role, JsonElement Content, DateTimeOffset CreatedAt)
{
    public static SessionMessage Text(string role, string text, DateTimeOffset createdAt) =>
        new(role, JsonSerializer.SerializeToElement(text, SessionsJson.Default.String), createdAt);

    public static SessionMessage Blocks(string role, JsonElement blocks, DateTimeOffset createdAt) => new(role, blocks.Clone(), createdAt);
}

/// <summary>A session as its owner sees it. <see cref="Version"/> is what the next append compares against.</summary>
public sealed record Session(
    string Id,
    string OwnerId,
    Plan PlanAtCreation,
    string Model,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    IReadOnlyList<SessionMessage> Messages,
    long Version);

/// <summary>The response of <c>GET /sessions/{session_id}</c>.</summary>
public sealed record SessionView(
    string SessionId,
    string Model,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    IReadOnlyList<SessionMessage> Messages);

/// <summary>
/// The plaintext inside the history token. Session id and owner ride along so a token copied onto another
/// session, or a meta hash whose owner was rewritten, fails the check instead of disclosing the history.
/// </summary>
internal sealed record SealedHistory(string SessionId, string Owner, IReadOnlyList<SessionMessage> Messages);

internal static class SessionIds
{
    private const string Prefix = "sess_";
    private const int RandomBytes = 16;
    private const int EncodedLength = 22; // 16 bytes in unpadded base64url

    private static readonly SearchValues<char> Base64UrlAlphabet =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    /// <summary>128 random bits, URL-safe: unguessable, so ids are no weaker than the owner check behind them.</summary>
    public static string New() => Prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(RandomBytes))
        .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static bool IsWellFormed(string? sessionId) =>
        sessionId?.Length == Prefix.Length + EncodedLength
        && sessionId.StartsWith(Prefix, StringComparison.Ordinal)
        && sessionId.AsSpan(Prefix.Length).IndexOfAnyExcept(Base64UrlAlphabet) < 0;
}
