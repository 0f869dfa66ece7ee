namespace Majestix.GoogleCloud.Firestore;

/// <summary>The outcome of an atomic commit (a batch or a transaction).</summary>
/// <param name="CommitTime">When the writes became visible.</param>
/// <param name="WriteResults">One result per write, in order.</param>
public sealed record FirestoreCommitResult(DateTimeOffset CommitTime, IReadOnlyList<FirestoreWriteResult> WriteResults);

/// <summary>The outcome of one write.</summary>
/// <param name="UpdateTime">The document's new update time (absent for a delete of a missing document).</param>
/// <param name="TransformResults">The value each field transform produced, in order.</param>
public sealed record FirestoreWriteResult(DateTimeOffset? UpdateTime, IReadOnlyList<FirestoreValue> TransformResults);
