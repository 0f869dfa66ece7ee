namespace Majestix.GoogleCloud.Firestore;

/// <summary>Documents read together at one moment, by full document name; a missing document maps to null.</summary>
public sealed record FirestoreSnapshot(IReadOnlyDictionary<string, FirestoreDocument?> Documents, DateTimeOffset ReadTime)
{
    /// <summary>The document at <paramref name="documentName"/> (a full name, as <see cref="FirestoreReference.Name"/>), or null.</summary>
    public FirestoreDocument? this[string documentName] => Documents.GetValueOrDefault(documentName);
}
