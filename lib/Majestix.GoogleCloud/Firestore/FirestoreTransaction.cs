namespace Majestix.GoogleCloud.Firestore;

/// <summary>
/// One attempt of a read-write transaction. Reads go through the transaction (and lock what they
/// read); writes are buffered and committed when the callback returns. Do all reads before writes.
/// </summary>
public sealed class FirestoreTransaction : FirestoreWriter
{
    internal FirestoreTransaction(FirestoreClient client, string id, int attempt)
        : base(client)
    {
        Id = id;
        Attempt = attempt;
    }

    /// <summary>1 for the first run, higher when the callback is re-run after contention.</summary>
    public int Attempt { get; }

    internal string Id { get; }

    /// <summary>Reads a document inside the transaction; null when it does not exist.</summary>
    public Task<FirestoreDocument?> GetAsync(string documentPath, CancellationToken cancellationToken = default) =>
        Client.GetAsync(documentPath, Id, cancellationToken);

    /// <summary>Runs a query inside the transaction.</summary>
    public Task<IReadOnlyList<FirestoreDocument>> QueryAsync(FirestoreQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        return Client.RunQueryAsync(query, Id, cancellationToken);
    }
}
