using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Majestix.GoogleCloud;

/// <summary>The <c>{"error": {...}}</c> envelope every Google REST API returns on failure.</summary>
/// <param name="HttpStatus">The HTTP status code of the response.</param>
/// <param name="Status">The canonical status name (<c>NOT_FOUND</c>, <c>ABORTED</c>, ...).</param>
/// <param name="Message">The server's message.</param>
public sealed record GoogleApiError(HttpStatusCode HttpStatus, string Status, string Message)
{
    internal static async Task<GoogleApiError> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        return Parse(response.StatusCode, body);
    }

    internal static GoogleApiError Parse(HttpStatusCode httpStatus, string body)
    {
        try
        {
            var envelope = JsonSerializer.Deserialize(body, GoogleApiErrorJsonContext.Default.GoogleApiErrorEnvelope);
            if (envelope?.Error is { } error)
            {
                return FromWire(httpStatus, error);
            }
        }
        catch (JsonException)
        {
            // Emulators and proxies sometimes answer with plain text; fall through to the HTTP code.
        }

        return new GoogleApiError(httpStatus, StatusFromHttp(httpStatus), body.Length > 500 ? body[..500] : body);
    }

    internal static GoogleApiError FromWire(HttpStatusCode httpStatus, GoogleApiErrorBody error) =>
        new(httpStatus, string.IsNullOrEmpty(error.Status) ? StatusFromHttp(httpStatus) : error.Status, error.Message ?? string.Empty);

    // Only used when the body carries no status: 409 is ambiguous (ABORTED or ALREADY_EXISTS),
    // so callers that care must rely on the body, which Google's APIs always send.
    private static string StatusFromHttp(HttpStatusCode code) => (int)code switch
    {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        412 => "FAILED_PRECONDITION",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        >= 500 => "INTERNAL",
        _ => "UNKNOWN",
    };
}

internal sealed class GoogleApiErrorEnvelope
{
    public GoogleApiErrorBody? Error { get; set; }
}

internal sealed class GoogleApiErrorBody
{
    public int Code { get; set; }

    public string? Message { get; set; }

    public string? Status { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(GoogleApiErrorEnvelope))]
internal sealed partial class GoogleApiErrorJsonContext : JsonSerializerContext;
