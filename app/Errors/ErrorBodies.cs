using System.Text.Json.Serialization;

namespace Majestix.InferenceApi.Errors;

/// <summary><c>{"detail": "..."}</c>: the shape every client of the live product reads.</summary>
public sealed record ErrorDetail(string Detail);

/// <summary><c>{"detail": {"code": "RATE_LIMITED", ...}}</c> for 429s.</summary>
public sealed record RateLimitedError(RateLimitedDetail Detail);

public sealed record RateLimitedDetail(
    string Code,
    string Message,
    [property: JsonPropertyName("retry_after")] int RetryAfter,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Plan);

internal static class ErrorCodes
{
    public const string RateLimited = "RATE_LIMITED";
    public const string IpRateLimited = "IP_RATE_LIMITED";
}
