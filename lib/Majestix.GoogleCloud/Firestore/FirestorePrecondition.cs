namespace Majestix.GoogleCloud.Firestore;

/// <summary>A condition the stored document must meet for a write to apply (<c>currentDocument</c>).</summary>
public sealed record FirestorePrecondition
{
    private FirestorePrecondition(bool? exists, DateTimeOffset? updateTime)
    {
        Exists = exists;
        UpdateTime = updateTime;
    }

    /// <summary>The document must exist (otherwise NotFound).</summary>
    public static FirestorePrecondition MustExist { get; } = new(true, null);

    /// <summary>The document must not exist (otherwise AlreadyExists).</summary>
    public static FirestorePrecondition MustNotExist { get; } = new(false, null);

    /// <summary>
    /// The document must still have the update time that was read (optimistic concurrency);
    /// otherwise FailedPrecondition.
    /// </summary>
    public static FirestorePrecondition LastUpdatedAt(DateTimeOffset updateTime) => new(null, updateTime);

    /// <summary>Set for the exists/not-exists forms.</summary>
    public bool? Exists { get; }

    /// <summary>Set for the update-time form.</summary>
    public DateTimeOffset? UpdateTime { get; }

    internal PreconditionWire ToWire() => new()
    {
        Exists = Exists,
        UpdateTime = UpdateTime is { } time ? GoogleTimestamp.Format(time) : null,
    };

    internal string ToQueryString() => Exists is { } exists
        ? $"currentDocument.exists={(exists ? "true" : "false")}"
        : $"currentDocument.updateTime={Uri.EscapeDataString(GoogleTimestamp.Format(UpdateTime!.Value))}";
}
