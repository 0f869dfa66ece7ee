namespace Majestix.GoogleCloud.Firestore;

/// <summary>The outcome of an atomic commit (a batch or a transaction).</summary>
/// <param name="CommitTime">When the writes became visible.</param>
/// <param name="WriteResults">One result per write, in order.</param>
public sealed record FirestoreCommitResult(DateTimeOffset CommitTime, IReadOnlyList<FirestoreWriteResult> WriteResults);

/// <summary>The outcome of one write.</summary>
/// <param name="UpdateTime">The document's new update time (absent for a delete of a missing document).</param>
/// <param name="TransformResults">The value each field transform produced, in order.</param>
public sealed record FirestoreWriteResult(DateTimeOffset? UpdateTime, IReadOnlyList<FirestoreValue> TransformResults);

/// <summary>The outcome of one write of a <see cref="FirestoreBulkWriter"/>.</summary>
/// <param name="Error">Why the write failed; null when it was applied.</param>
/// <param name="Message">The server's message for a failed write.</param>
/// <param name="UpdateTime">The document's new update time when the write was applied.</param>
public sealed record FirestoreBulkWriteResult(FirestoreErrorKind? Error, string? Message, DateTimeOffset? UpdateTime)
{
    /// <summary>True when the write was applied.</summary>
    public bool Succeeded => Error is null;
}
