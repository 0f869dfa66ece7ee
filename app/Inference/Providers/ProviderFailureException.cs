using System.Net.Sockets;
using Anthropic.Exceptions;

namespace Majestix.InferenceApi.Inference.Providers;

public enum ProviderFailureKind
{
    ServerError,
    RateLimited,
    Overloaded,
    Timeout,
    ConnectionFailed,

    /// <summary>The stream ended (cleanly or not) before the provider said it was complete.</summary>
    StreamCut,

    /// <summary>The provider found the request invalid (400, 413, 422): the caller's request must change.</summary>
    InvalidRequest,

    /// <summary>The provider refused the gateway itself (401, 403, 404, other 4xx): configuration, not the caller.</summary>
    Refused,
}

/// <summary>
/// A failed provider call, classified once. The message is safe to show to callers: it never contains
/// upstream bodies, URLs or credentials.
/// </summary>
public sealed class ProviderFailureException(ProviderFailureKind kind, string provider, int? upstreamStatus, Exception? inner = null)
    : Exception(Describe(kind, upstreamStatus), inner)
{
    public ProviderFailureKind Kind { get; } = kind;

    public string Provider { get; } = provider;

    public int? UpstreamStatus { get; } = upstreamStatus;

    /// <summary>Another model may be tried: the failure says nothing about the request itself.</summary>
    public bool IsFallbackEligible => Kind is not (ProviderFailureKind.InvalidRequest or ProviderFailureKind.Refused);

    /// <summary>The status the gateway answers when no output was sent yet.</summary>
    public int ClientStatusCode => Kind switch
    {
        ProviderFailureKind.InvalidRequest => StatusCodes.Status400BadRequest,
        ProviderFailureKind.Timeout => StatusCodes.Status504GatewayTimeout,
        ProviderFailureKind.Refused => StatusCodes.Status502BadGateway,
        _ => StatusCodes.Status503ServiceUnavailable,
    };

    private static string Describe(ProviderFailureKind kind, int? status) => kind switch
    {
        ProviderFailureKind.RateLimited => "The model provider is rate limiting requests.",
        ProviderFailureKind.Overloaded => "The model provider is overloaded.",
        ProviderFailureKind.Timeout => "The model provider did not answer in time.",
        ProviderFailureKind.ConnectionFailed => "The connection to the model provider failed.",
        ProviderFailureKind.StreamCut => "The model provider ended the response before it was complete.",
        ProviderFailureKind.InvalidRequest => $"The model provider rejected the request as invalid ({status}).",
        ProviderFailureKind.Refused => $"The model provider refused the request ({status}).",
        _ => $"The model provider failed ({status?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "error"}).",
    };

    /// <summary>
    /// Maps whatever an SDK or the network threw. <paramref name="timedOut"/> is true when the gateway's own
    /// per-request timeout cancelled the call (the caller's cancellation is not a failure and is rethrown).
    /// </summary>
    public static ProviderFailureException From(Exception exception, string provider, bool timedOut) => exception switch
    {
        ProviderFailureException failure => failure,
        _ when timedOut => new(ProviderFailureKind.Timeout, provider, null, exception),
        AnthropicApiException api => FromStatus((int)api.StatusCode, provider, exception),
        // Errors sent inside an SSE stream (Anthropic `event: error`).
        AnthropicSseException sse when sse.Type?.Raw() == "overloaded_error" => new(ProviderFailureKind.Overloaded, provider, null, exception),
        AnthropicSseException sse when sse.Type?.Raw() == "rate_limit_error" => new(ProviderFailureKind.RateLimited, provider, null, exception),
        AnthropicSseException => new(ProviderFailureKind.ServerError, provider, null, exception),
        TimeoutException => new(ProviderFailureKind.Timeout, provider, null, exception),
        HttpRequestException or IOException or SocketException or AnthropicIOException
            => new(ProviderFailureKind.ConnectionFailed, provider, null, exception),
        _ when exception.InnerException is { } inner and (HttpRequestException or IOException or SocketException)
            => new(ProviderFailureKind.ConnectionFailed, provider, null, exception),
        _ => new(ProviderFailureKind.ServerError, provider, null, exception),
    };

    public static ProviderFailureException FromStatus(int status, string provider, Exception? inner = null) => new(status switch
    {
        429 => ProviderFailureKind.RateLimited,
        529 => ProviderFailureKind.Overloaded,
        408 or 504 => ProviderFailureKind.Timeout,
        400 or 413 or 422 => ProviderFailureKind.InvalidRequest,
        >= 500 => ProviderFailureKind.ServerError,
        _ => ProviderFailureKind.Refused,
    }, provider, status, inner);
}
