using System.Net;

namespace Majestix.GoogleCloud.PubSub;

/// <summary>A Pub/Sub call failed.</summary>
public sealed class PubSubException : Exception
{
    /// <summary>Creates the exception from the API's error envelope.</summary>
    public PubSubException(GoogleApiError error)
        : base($"Pub/Sub {error?.Status}: {error?.Message}")
    {
        ArgumentNullException.ThrowIfNull(error);
        Error = error;
    }

    /// <summary>The raw error envelope.</summary>
    public GoogleApiError Error { get; }

    /// <summary>The canonical status name (<c>NOT_FOUND</c>, <c>UNAVAILABLE</c>, ...).</summary>
    public string Status => Error.Status;

    /// <summary>The HTTP status code.</summary>
    public HttpStatusCode HttpStatus => Error.HttpStatus;

    /// <summary>Whether the Google client libraries would retry a publish after this error.</summary>
    public bool IsRetryable => GoogleEndpoints.IsRetryableStatus(Status);
}
