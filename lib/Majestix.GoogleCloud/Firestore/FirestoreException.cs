using System.Net;

namespace Majestix.GoogleCloud.Firestore;

/// <summary>The canonical error codes a Firestore call can fail with.</summary>
public enum FirestoreErrorKind
{
    /// <summary><c>UNKNOWN</c>, or a status this client does not know.</summary>
    Unknown,

    /// <summary><c>CANCELLED</c>.</summary>
    Cancelled,

    /// <summary><c>INVALID_ARGUMENT</c>.</summary>
    InvalidArgument,

    /// <summary><c>DEADLINE_EXCEEDED</c>: a write may have been applied anyway.</summary>
    DeadlineExceeded,

    /// <summary><c>NOT_FOUND</c>, including an <c>exists: true</c> precondition on a missing document.</summary>
    NotFound,

    /// <summary><c>ALREADY_EXISTS</c>: a create (or <c>exists: false</c> precondition) hit an existing document.</summary>
    AlreadyExists,

    /// <summary><c>PERMISSION_DENIED</c>.</summary>
    PermissionDenied,

    /// <summary><c>RESOURCE_EXHAUSTED</c>.</summary>
    ResourceExhausted,

    /// <summary><c>FAILED_PRECONDITION</c>: an update-time precondition failed, or an index is missing.</summary>
    FailedPrecondition,

    /// <summary><c>ABORTED</c>: transaction contention; retry the whole read-modify-write.</summary>
    Aborted,

    /// <summary><c>OUT_OF_RANGE</c>.</summary>
    OutOfRange,

    /// <summary><c>UNIMPLEMENTED</c>.</summary>
    Unimplemented,

    /// <summary><c>INTERNAL</c>.</summary>
    Internal,

    /// <summary><c>UNAVAILABLE</c>: transient.</summary>
    Unavailable,

    /// <summary><c>DATA_LOSS</c>.</summary>
    DataLoss,

    /// <summary><c>UNAUTHENTICATED</c>.</summary>
    Unauthenticated,
}

/// <summary>A Firestore call failed; <see cref="Kind"/> says how.</summary>
public sealed class FirestoreException : Exception
{
    /// <summary>Creates the exception from the API's error envelope.</summary>
    public FirestoreException(GoogleApiError error)
        : base($"Firestore {error?.Status}: {error?.Message}")
    {
        ArgumentNullException.ThrowIfNull(error);
        Error = error;
        Kind = KindOf(error.Status);
    }

    /// <summary>The error code.</summary>
    public FirestoreErrorKind Kind { get; }

    /// <summary>The raw error envelope (status name, HTTP status, message).</summary>
    public GoogleApiError Error { get; }

    /// <summary>The HTTP status code of the failed response.</summary>
    public HttpStatusCode HttpStatus => Error.HttpStatus;

    // The numeric google.rpc.Code, as batchWrite reports each write's status.
    internal static FirestoreErrorKind KindOf(int code) => code switch
    {
        1 => FirestoreErrorKind.Cancelled,
        3 => FirestoreErrorKind.InvalidArgument,
        4 => FirestoreErrorKind.DeadlineExceeded,
        5 => FirestoreErrorKind.NotFound,
        6 => FirestoreErrorKind.AlreadyExists,
        7 => FirestoreErrorKind.PermissionDenied,
        8 => FirestoreErrorKind.ResourceExhausted,
        9 => FirestoreErrorKind.FailedPrecondition,
        10 => FirestoreErrorKind.Aborted,
        11 => FirestoreErrorKind.OutOfRange,
        12 => FirestoreErrorKind.Unimplemented,
        13 => FirestoreErrorKind.Internal,
        14 => FirestoreErrorKind.Unavailable,
        15 => FirestoreErrorKind.DataLoss,
        16 => FirestoreErrorKind.Unauthenticated,
        _ => FirestoreErrorKind.Unknown,
    };

    internal static FirestoreErrorKind KindOf(string status) => status switch
    {
        "CANCELLED" => FirestoreErrorKind.Cancelled,
        "INVALID_ARGUMENT" => FirestoreErrorKind.InvalidArgument,
        "DEADLINE_EXCEEDED" => FirestoreErrorKind.DeadlineExceeded,
        "NOT_FOUND" => FirestoreErrorKind.NotFound,
        "ALREADY_EXISTS" => FirestoreErrorKind.AlreadyExists,
        "PERMISSION_DENIED" => FirestoreErrorKind.PermissionDenied,
        "RESOURCE_EXHAUSTED" => FirestoreErrorKind.ResourceExhausted,
        "FAILED_PRECONDITION" => FirestoreErrorKind.FailedPrecondition,
        "ABORTED" => FirestoreErrorKind.Aborted,
        "OUT_OF_RANGE" => FirestoreErrorKind.OutOfRange,
        "UNIMPLEMENTED" => FirestoreErrorKind.Unimplemented,
        "INTERNAL" => FirestoreErrorKind.Internal,
        "UNAVAILABLE" => FirestoreErrorKind.Unavailable,
        "DATA_LOSS" => FirestoreErrorKind.DataLoss,
        "UNAUTHENTICATED" => FirestoreErrorKind.Unauthenticated,
        _ => FirestoreErrorKind.Unknown,
    };
}
