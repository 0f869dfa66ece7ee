using Majestix.InferenceApi.Inference.Providers;

namespace Majestix.InferenceApi.UsageEvents;

public enum UsageStatus
{
    Ok,
    Error,

    /// <summary>The client disconnected; it pays for what was produced until then.</summary>
    Cancelled,
    Timeout,
}

/// <summary>How a model call ended: the <c>status</c> and <c>error_code</c> columns.</summary>
public readonly record struct UsageOutcome
{
    private const int MaxErrorCodeLength = 64;

    private UsageOutcome(UsageStatus status, string? errorCode)
    {
        Status = status;
        ErrorCode = errorCode;
    }

    public UsageStatus Status { get; }

    public string? ErrorCode { get; }

    public string StatusName => Status switch
    {
        UsageStatus.Error => "error",
        UsageStatus.Cancelled => "cancelled",
        UsageStatus.Timeout => "timeout",
        _ => "ok",
    };

    public static UsageOutcome Ok { get; } = new(UsageStatus.Ok, null);

    public static UsageOutcome Cancelled { get; } = new(UsageStatus.Cancelled, "client_disconnected");

    /// <summary>A provider failure, before or after output started; its timeouts count as <see cref="UsageStatus.Timeout"/>.</summary>
    public static UsageOutcome ProviderFailed(ProviderFailureException failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        return failure.Kind switch
        {
            ProviderFailureKind.Timeout => new(UsageStatus.Timeout, "provider_timeout"),
            ProviderFailureKind.RateLimited => new(UsageStatus.Error, "provider_rate_limited"),
            ProviderFailureKind.Overloaded => new(UsageStatus.Error, "provider_overloaded"),
            ProviderFailureKind.ConnectionFailed => new(UsageStatus.Error, "provider_connection_failed"),
            ProviderFailureKind.StreamCut => new(UsageStatus.Error, "provider_stream_cut"),
            ProviderFailureKind.InvalidRequest => new(UsageStatus.Error, "provider_invalid_request"),
            ProviderFailureKind.Refused => new(UsageStatus.Error, "provider_refused"),
            _ => new(UsageStatus.Error, "provider_server_error"),
        };
    }

    /// <summary>A failure of the gateway's own, named by a short snake_case code such as <c>internal_error</c>.</summary>
    public static UsageOutcome Error(string errorCode) => new(UsageStatus.Error, Checked(errorCode));

    public static UsageOutcome TimedOut(string errorCode) => new(UsageStatus.Timeout, Checked(errorCode));

    // The code lands in analytics next to the user: a fixed vocabulary, never an exception message,
    // a provider body or anything of the conversation.
    private static string Checked(string errorCode)
    {
        ArgumentNullException.ThrowIfNull(errorCode);
        var wellFormed = errorCode.Length is > 0 and <= MaxErrorCodeLength
            && char.IsAsciiLetterLower(errorCode[0])
            && errorCode.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_');
        return wellFormed
            ? errorCode
            : throw new ArgumentException($"An error code is 1–{MaxErrorCodeLength} characters of a-z, 0-9 and '_', starting with a letter.", nameof(errorCode));
    }
}
