using System.Text.Json.Serialization.Metadata;

namespace Majestix.GoogleCloud.Firestore;

/// <summary>Buffers writes that are later sent together: atomically and in order (a batch, a transaction), or not (a bulk writer).</summary>
public abstract class FirestoreWriter
{
    private readonly List<WriteWire> _writes = [];

    private protected FirestoreWriter(FirestoreClient client)
    {
        Client = client;
    }

    /// <summary>The number of buffered writes.</summary>
    public int Count => _writes.Count;

    private protected FirestoreClient Client { get; }

    internal IReadOnlyList<WriteWire> Writes => _writes;

    /// <summary>Creates the document; the commit fails with AlreadyExists if it exists.</summary>
    public void Create(string documentPath, IReadOnlyDictionary<string, FirestoreValue> fields) =>
        Add(documentPath, fields, fieldMask: null, FirestorePrecondition.MustNotExist, transforms: null);

    /// <summary>Creates the document from a typed value.</summary>
    public void Create<T>(string documentPath, T data, JsonTypeInfo<T> typeInfo) =>
        Create(documentPath, FirestoreMapper.ToFields(data, typeInfo));

    /// <summary>Replaces the whole document (creating it when missing unless a precondition says otherwise).</summary>
    public void Set(string documentPath, IReadOnlyDictionary<string, FirestoreValue> fields, FirestorePrecondition? precondition = null) =>
        Add(documentPath, fields, fieldMask: null, precondition, transforms: null);

    /// <summary>Replaces the whole document from a typed value.</summary>
    public void Set<T>(string documentPath, T data, JsonTypeInfo<T> typeInfo, FirestorePrecondition? precondition = null) =>
        Set(documentPath, FirestoreMapper.ToFields(data, typeInfo), precondition);

    /// <summary>
    /// Writes only the fields in <paramref name="fieldMask"/> (default: the top-level keys of
    /// <paramref name="fields"/>); a masked field absent from <paramref name="fields"/> is deleted.
    /// The precondition defaults to <see cref="FirestorePrecondition.MustExist"/>.
    /// </summary>
    public void Update(
        string documentPath,
        IReadOnlyDictionary<string, FirestoreValue> fields,
        IEnumerable<string>? fieldMask = null,
        FirestorePrecondition? precondition = null,
        IEnumerable<FirestoreFieldTransform>? transforms = null)
    {
        ArgumentNullException.ThrowIfNull(fields);
        Add(documentPath, fields, fieldMask ?? fields.Keys.Select(FirestoreFieldPath.Escape), precondition ?? FirestorePrecondition.MustExist, transforms);
    }

    /// <summary>Applies field transforms only; a missing document is created unless a precondition forbids it.</summary>
    public void Transform(string documentPath, IEnumerable<FirestoreFieldTransform> transforms, FirestorePrecondition? precondition = null)
    {
        ArgumentNullException.ThrowIfNull(transforms);
        Add(documentPath, new Dictionary<string, FirestoreValue>(), [], precondition, transforms);
    }

    /// <summary>Deletes the document; deleting a missing document succeeds unless a precondition is given.</summary>
    public void Delete(string documentPath, FirestorePrecondition? precondition = null) =>
        _writes.Add(new WriteWire { Delete = Client.DocumentName(documentPath), CurrentDocument = precondition?.ToWire() });

    private void Add(
        string documentPath,
        IReadOnlyDictionary<string, FirestoreValue> fields,
        IEnumerable<string>? fieldMask,
        FirestorePrecondition? precondition,
        IEnumerable<FirestoreFieldTransform>? transforms)
    {
        ArgumentNullException.ThrowIfNull(fields);
        var transformList = transforms?.Select(t => t.ToWire()).ToList();
        _writes.Add(new WriteWire
        {
            Update = new DocumentWire { Name = Client.DocumentName(documentPath), Fields = new(fields, StringComparer.Ordinal) },
            UpdateMask = fieldMask is null ? null : new DocumentMaskWire { FieldPaths = [.. fieldMask] },
            UpdateTransforms = transformList is { Count: > 0 } ? transformList : null,
            CurrentDocument = precondition?.ToWire(),
        });
    }
}

/// <summary>Writes committed atomically without a transaction (no reads, no contention retries).</summary>
public sealed class FirestoreWriteBatch : FirestoreWriter
{
    internal FirestoreWriteBatch(FirestoreClient client)
        : base(client)
    {
    }

    /// <summary>Commits every buffered write in one atomic request.</summary>
    public Task<FirestoreCommitResult> CommitAsync(CancellationToken cancellationToken = default) =>
        Client.CommitAsync(Writes, transaction: null, cancellationToken);
}

/// <summary>
/// Writes sent in one <c>batchWrite</c> request that is not atomic: each write succeeds or fails on its
/// own (a create of an existing document fails alone) and the writes are not applied in any set order.
/// At most 500 writes per request.
/// </summary>
public sealed class FirestoreBulkWriter : FirestoreWriter
{
    /// <summary>The most writes one request may carry.</summary>
    public const int MaxWrites = 500;

    internal FirestoreBulkWriter(FirestoreClient client)
        : base(client)
    {
    }

    /// <summary>
    /// Sends every buffered write; returns one result per write, in order. A failure of the request
    /// itself (unavailable, unauthenticated) throws <see cref="FirestoreException"/>, and then no write
    /// may be assumed applied or not.
    /// </summary>
    public Task<IReadOnlyList<FirestoreBulkWriteResult>> WriteAsync(CancellationToken cancellationToken = default) =>
        Client.BatchWriteAsync(Writes, cancellationToken);
}
