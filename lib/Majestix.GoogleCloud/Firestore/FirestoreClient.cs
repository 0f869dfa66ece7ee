using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Majestix.GoogleCloud.Firestore;

/// <summary>
/// Firestore REST v1 client. Document paths are relative to the database's <c>documents/</c>
/// root (<c>users/u1</c>, <c>users/u1/keys/k1</c>); full resource names are accepted too.
/// </summary>
public sealed class FirestoreClient
{
    private readonly HttpClient _http;
    private readonly FirestoreOptions _options;
    private readonly ILogger<FirestoreClient> _logger;

    /// <summary>Creates the client over an <see cref="HttpClient"/> whose base address and auth are already set.</summary>
    public FirestoreClient(HttpClient http, IOptions<FirestoreOptions> options, ILogger<FirestoreClient>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        _http = http;
        _options = options.Value;
        _logger = logger ?? NullLogger<FirestoreClient>.Instance;
        _http.BaseAddress ??= _options.BaseAddress;
        DatabaseName = $"projects/{_options.ProjectId}/databases/{_options.DatabaseId}";
        DocumentsRoot = $"{DatabaseName}/documents";
    }

    /// <summary><c>projects/{p}/databases/{d}</c>.</summary>
    public string DatabaseName { get; }

    /// <summary><c>projects/{p}/databases/{d}/documents</c>.</summary>
    public string DocumentsRoot { get; }

    /// <summary>A reference to a document in this database.</summary>
    public FirestoreReference Document(string documentPath) => new(DocumentName(documentPath));

    /// <summary>A query over a collection (<c>users</c> or <c>users/u1/keys</c>).</summary>
    public FirestoreQuery Collection(string collectionPath)
    {
        var (parent, collectionId) = SplitCollectionPath(collectionPath);
        return new FirestoreQuery(this, parent, collectionId, allDescendants: false);
    }

    /// <summary>A query over every collection named <paramref name="collectionId"/> in the database.</summary>
    public FirestoreQuery CollectionGroup(string collectionId)
    {
        ArgumentException.ThrowIfNullOrEmpty(collectionId);
        return new FirestoreQuery(this, string.Empty, collectionId, allDescendants: true);
    }

    /// <summary>A batch of writes committed atomically without a transaction.</summary>
    public FirestoreWriteBatch Batch() => new(this);

    /// <summary>Writes sent together in one request but applied one by one (not atomic), each with its own result.</summary>
    public FirestoreBulkWriter BulkWriter() => new(this);

    /// <summary>Reads a document; null when it does not exist.</summary>
    public Task<FirestoreDocument?> GetAsync(string documentPath, CancellationToken cancellationToken = default) =>
        GetAsync(documentPath, transaction: null, cancellationToken);

    /// <summary>Reads a document as <typeparamref name="T"/>; default when it does not exist.</summary>
    public async Task<T?> GetAsync<T>(string documentPath, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken = default)
    {
        var document = await GetAsync(documentPath, cancellationToken).ConfigureAwait(false);
        return document is null ? default : document.ConvertTo(typeInfo);
    }

    /// <summary>
    /// Reads several documents in one request, all as of one moment: the result's <see cref="FirestoreSnapshot.ReadTime"/>.
    /// A write committed at or before it is in the result; one committed after it is not (compare a document's
    /// <see cref="FirestoreDocument.CreateTime"/> read later with it).
    /// </summary>
    public async Task<FirestoreSnapshot> GetAllAsync(IReadOnlyCollection<string> documentPaths, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(documentPaths);
        var names = documentPaths.Select(DocumentName).Distinct(StringComparer.Ordinal).ToList();
        var documents = new Dictionary<string, FirestoreDocument?>(StringComparer.Ordinal);
        if (names.Count == 0)
        {
            return new FirestoreSnapshot(documents, default);
        }

        var elements = await SendAsync(
                HttpMethod.Post,
                EscapePath(DocumentsRoot) + ":batchGet",
                new BatchGetRequestWire { Documents = names },
                FirestoreJsonContext.Default.BatchGetRequestWire,
                FirestoreJsonContext.Default.ListBatchGetResponseWire,
                cancellationToken)
            .ConfigureAwait(false);
        DateTimeOffset readTime = default;
        foreach (var element in elements)
        {
            if (element.Error is { } error)
            {
                throw new FirestoreException(GoogleApiError.FromWire(HttpStatusCode.OK, error));
            }

            // Each answer's read time is at least the earlier ones', and the earlier documents did not change in between.
            if (GoogleTimestamp.ParseOptional(element.ReadTime) is { } time && time > readTime)
            {
                readTime = time;
            }

            if (element.Found is { } found)
            {
                documents[found.Name!] = FirestoreDocument.FromWire(found);
            }
            else if (element.Missing is { } missing)
            {
                documents[missing] = null;
            }
        }

        return new FirestoreSnapshot(names.ToDictionary(name => name, name => documents.GetValueOrDefault(name), StringComparer.Ordinal), readTime);
    }

    // Single-document writes go through commit, like the official SDKs: one code path for
    // preconditions (the emulator ignores currentDocument.updateTime on PATCH query strings).

    /// <summary>Creates a document; throws <see cref="FirestoreException"/> (AlreadyExists) if it exists.</summary>
    public Task<FirestoreWriteResult> CreateAsync(
        string documentPath,
        IReadOnlyDictionary<string, FirestoreValue> fields,
        CancellationToken cancellationToken = default) =>
        CommitSingleAsync(writer => writer.Create(documentPath, fields), cancellationToken);

    /// <summary>Creates a document from a typed value.</summary>
    public Task<FirestoreWriteResult> CreateAsync<T>(string documentPath, T data, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken = default) =>
        CreateAsync(documentPath, FirestoreMapper.ToFields(data, typeInfo), cancellationToken);

    /// <summary>Creates a document with a random id in <paramref name="collectionPath"/>; returns its reference.</summary>
    public async Task<FirestoreReference> AddAsync(
        string collectionPath,
        IReadOnlyDictionary<string, FirestoreValue> fields,
        CancellationToken cancellationToken = default)
    {
        var (parent, collectionId) = SplitCollectionPath(collectionPath);
        var path = $"{(parent.Length == 0 ? string.Empty : parent + "/")}{collectionId}/{NewDocumentId()}";
        await CreateAsync(path, fields, cancellationToken).ConfigureAwait(false);
        return Document(path);
    }

    /// <summary>Replaces the whole document, creating it when missing unless a precondition forbids it.</summary>
    public Task<FirestoreWriteResult> SetAsync(
        string documentPath,
        IReadOnlyDictionary<string, FirestoreValue> fields,
        FirestorePrecondition? precondition = null,
        CancellationToken cancellationToken = default) =>
        CommitSingleAsync(writer => writer.Set(documentPath, fields, precondition), cancellationToken);

    /// <summary>Replaces the whole document from a typed value.</summary>
    public Task<FirestoreWriteResult> SetAsync<T>(
        string documentPath,
        T data,
        JsonTypeInfo<T> typeInfo,
        FirestorePrecondition? precondition = null,
        CancellationToken cancellationToken = default) =>
        SetAsync(documentPath, FirestoreMapper.ToFields(data, typeInfo), precondition, cancellationToken);

    /// <summary>
    /// Writes only the fields in <paramref name="fieldMask"/> (default: the top-level keys of
    /// <paramref name="fields"/>); a masked field absent from <paramref name="fields"/> is deleted.
    /// The precondition defaults to <see cref="FirestorePrecondition.MustExist"/>, so a missing
    /// document fails with NotFound and a stale update time with FailedPrecondition.
    /// </summary>
    public Task<FirestoreWriteResult> UpdateAsync(
        string documentPath,
        IReadOnlyDictionary<string, FirestoreValue> fields,
        IEnumerable<string>? fieldMask = null,
        FirestorePrecondition? precondition = null,
        CancellationToken cancellationToken = default) =>
        CommitSingleAsync(writer => writer.Update(documentPath, fields, fieldMask, precondition), cancellationToken);

    /// <summary>Applies field transforms to one document; returns the transform results.</summary>
    public Task<FirestoreWriteResult> TransformAsync(
        string documentPath,
        IEnumerable<FirestoreFieldTransform> transforms,
        FirestorePrecondition? precondition = null,
        CancellationToken cancellationToken = default) =>
        CommitSingleAsync(writer => writer.Transform(documentPath, transforms, precondition), cancellationToken);

    /// <summary>Deletes a document; a missing document is not an error unless a precondition is given.</summary>
    public Task DeleteAsync(string documentPath, FirestorePrecondition? precondition = null, CancellationToken cancellationToken = default) =>
        CommitSingleAsync(writer => writer.Delete(documentPath, precondition), cancellationToken);

    /// <summary>
    /// Runs <paramref name="body"/> in a read-write transaction and commits its buffered writes.
    /// On contention (ABORTED, from a read or the commit) the whole callback runs again with
    /// backoff, so it must have no side effects outside the transaction.
    /// </summary>
    public async Task<T> RunTransactionAsync<T>(
        Func<FirestoreTransaction, Task<T>> body,
        FirestoreTransactionOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        options ??= _options.Transactions;
        string? previousId = null;
        for (var attempt = 1; ; attempt++)
        {
            var transactionId = await BeginTransactionAsync(previousId, cancellationToken).ConfigureAwait(false);
            var transaction = new FirestoreTransaction(this, transactionId, attempt);
            try
            {
                var result = await body(transaction).ConfigureAwait(false);
                await CommitAsync(transaction.Writes, transactionId, cancellationToken).ConfigureAwait(false);
                return result;
            }
            catch (FirestoreException ex) when (ex.Kind == FirestoreErrorKind.Aborted && attempt < options.MaxAttempts)
            {
                await RollbackQuietlyAsync(transactionId).ConfigureAwait(false);
                var delay = options.Backoff.DelayFor(attempt);
                _logger.LogDebug("Firestore transaction aborted on attempt {Attempt}; retrying in {DelayMs} ms", attempt, (int)delay.TotalMilliseconds);
                previousId = transactionId;
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                // Release the transaction's locks instead of letting them expire.
                await RollbackQuietlyAsync(transactionId).ConfigureAwait(false);
                throw;
            }
        }
    }

    /// <summary>Runs <paramref name="body"/> in a read-write transaction (no result).</summary>
    public Task RunTransactionAsync(
        Func<FirestoreTransaction, Task> body,
        FirestoreTransactionOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        return RunTransactionAsync(
            async transaction =>
            {
                await body(transaction).ConfigureAwait(false);
                return true;
            },
            options,
            cancellationToken);
    }

    internal async Task<FirestoreDocument?> GetAsync(string documentPath, string? transaction, CancellationToken cancellationToken)
    {
        var name = DocumentName(documentPath);
        if (transaction is not null)
        {
            // batchGet rather than GET ?transaction=, which the emulator never answers.
            var request = new BatchGetRequestWire { Documents = [name], Transaction = transaction };
            var elements = await SendAsync(
                    HttpMethod.Post,
                    EscapePath(DocumentsRoot) + ":batchGet",
                    request,
                    FirestoreJsonContext.Default.BatchGetRequestWire,
                    FirestoreJsonContext.Default.ListBatchGetResponseWire,
                    cancellationToken)
                .ConfigureAwait(false);
            foreach (var element in elements)
            {
                if (element.Error is { } error)
                {
                    throw new FirestoreException(GoogleApiError.FromWire(HttpStatusCode.OK, error));
                }

                if (element.Found is { } found)
                {
                    return FirestoreDocument.FromWire(found);
                }
            }

            return null;
        }

        using var response = await _http.GetAsync(new Uri(EscapePath(name), UriKind.Relative), cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            var error = await GoogleApiError.ReadAsync(response, cancellationToken).ConfigureAwait(false);
            // A bare 404 without the NOT_FOUND envelope (a wrong base address) must not read as "no document".
            return error.Status == "NOT_FOUND" ? null : throw new FirestoreException(error);
        }

        var document = await ReadAsync(response, FirestoreJsonContext.Default.DocumentWire, cancellationToken).ConfigureAwait(false);
        return FirestoreDocument.FromWire(document);
    }

    internal async Task<IReadOnlyList<FirestoreDocument>> RunQueryAsync(FirestoreQuery query, string? transaction, CancellationToken cancellationToken)
    {
        var parent = query.ParentPath.Length == 0 ? DocumentsRoot : DocumentName(query.ParentPath);
        var request = new RunQueryRequestWire { StructuredQuery = query.ToWire(), Transaction = transaction };
        var elements = await SendAsync(
                HttpMethod.Post,
                EscapePath(parent) + ":runQuery",
                request,
                FirestoreJsonContext.Default.RunQueryRequestWire,
                FirestoreJsonContext.Default.ListRunQueryResponseWire,
                cancellationToken)
            .ConfigureAwait(false);

        var documents = new List<FirestoreDocument>();
        foreach (var element in elements)
        {
            if (element.Error is { } error)
            {
                throw new FirestoreException(GoogleApiError.FromWire(HttpStatusCode.OK, error));
            }

            if (element.Document is { } document)
            {
                documents.Add(FirestoreDocument.FromWire(document));
            }
        }

        return documents;
    }

    internal async Task<long> RunCountQueryAsync(FirestoreQuery query, CancellationToken cancellationToken)
    {
        var parent = query.ParentPath.Length == 0 ? DocumentsRoot : DocumentName(query.ParentPath);
        var request = new RunAggregationQueryRequestWire
        {
            StructuredAggregationQuery = new StructuredAggregationQueryWire
            {
                StructuredQuery = query.ToWire(),
                Aggregations = [new AggregationWire { Alias = "count", Count = new EmptyWire() }],
            },
        };
        var elements = await SendAsync(
                HttpMethod.Post,
                EscapePath(parent) + ":runAggregationQuery",
                request,
                FirestoreJsonContext.Default.RunAggregationQueryRequestWire,
                FirestoreJsonContext.Default.ListRunAggregationQueryResponseWire,
                cancellationToken)
            .ConfigureAwait(false);
        foreach (var element in elements)
        {
            if (element.Error is { } error)
            {
                throw new FirestoreException(GoogleApiError.FromWire(HttpStatusCode.OK, error));
            }

            if (element.Result?.AggregateFields is { } fields && fields.TryGetValue("count", out var count))
            {
                return count.Kind == FirestoreValueKind.Integer ? count.IntegerValue : (long)count.AsNumber();
            }
        }

        return 0;
    }

    internal async Task<FirestoreCommitResult> CommitAsync(IReadOnlyList<WriteWire> writes, string? transaction, CancellationToken cancellationToken)
    {
        var request = new CommitRequestWire { Writes = [.. writes], Transaction = transaction };
        var response = await SendAsync(
                HttpMethod.Post,
                EscapePath(DocumentsRoot) + ":commit",
                request,
                FirestoreJsonContext.Default.CommitRequestWire,
                FirestoreJsonContext.Default.CommitResponseWire,
                cancellationToken)
            .ConfigureAwait(false);

        var results = (response.WriteResults ?? [])
            .Select(r => new FirestoreWriteResult(GoogleTimestamp.ParseOptional(r.UpdateTime), r.TransformResults ?? []))
            .ToList();
        return new FirestoreCommitResult(GoogleTimestamp.ParseOptional(response.CommitTime) ?? default, results);
    }

    internal async Task<IReadOnlyList<FirestoreBulkWriteResult>> BatchWriteAsync(IReadOnlyList<WriteWire> writes, CancellationToken cancellationToken)
    {
        if (writes.Count == 0)
        {
            return [];
        }

        if (writes.Count > FirestoreBulkWriter.MaxWrites)
        {
            throw new InvalidOperationException($"batchWrite takes at most {FirestoreBulkWriter.MaxWrites} writes; {writes.Count} were buffered.");
        }

        var response = await SendAsync(
                HttpMethod.Post,
                EscapePath(DocumentsRoot) + ":batchWrite",
                new BatchWriteRequestWire { Writes = [.. writes] },
                FirestoreJsonContext.Default.BatchWriteRequestWire,
                FirestoreJsonContext.Default.BatchWriteResponseWire,
                cancellationToken)
            .ConfigureAwait(false);

        var results = new FirestoreBulkWriteResult[writes.Count];
        for (var i = 0; i < results.Length; i++)
        {
            var status = response.Status is { } statuses && i < statuses.Count ? statuses[i] : null;
            var updateTime = response.WriteResults is { } written && i < written.Count ? GoogleTimestamp.ParseOptional(written[i].UpdateTime) : null;
            // A write the response says nothing about is not known to be applied.
            results[i] = status switch
            {
                null => new FirestoreBulkWriteResult(FirestoreErrorKind.Unknown, "batchWrite returned no status for this write.", null),
                { Code: 0 } => new FirestoreBulkWriteResult(null, null, updateTime),
                _ => new FirestoreBulkWriteResult(FirestoreException.KindOf(status.Code), status.Message, null),
            };
        }

        return results;
    }

    internal string DocumentName(string documentPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(documentPath);
        if (documentPath.StartsWith("projects/", StringComparison.Ordinal))
        {
            return new FirestoreReference(documentPath).Name;
        }

        var trimmed = documentPath.Trim('/');
        if (trimmed.Split('/').Length % 2 != 0)
        {
            throw new ArgumentException($"'{documentPath}' is not a document path (collection/id pairs).", nameof(documentPath));
        }

        return $"{DocumentsRoot}/{trimmed}";
    }

    private async Task<string> BeginTransactionAsync(string? retryTransaction, CancellationToken cancellationToken)
    {
        var request = new BeginTransactionRequestWire
        {
            Options = new TransactionOptionsWire { ReadWrite = new ReadWriteWire { RetryTransaction = retryTransaction } },
        };
        var response = await SendAsync(
                HttpMethod.Post,
                EscapePath(DocumentsRoot) + ":beginTransaction",
                request,
                FirestoreJsonContext.Default.BeginTransactionRequestWire,
                FirestoreJsonContext.Default.BeginTransactionResponseWire,
                cancellationToken)
            .ConfigureAwait(false);
        return response.Transaction ?? throw new InvalidOperationException("beginTransaction returned no transaction id.");
    }

    private async Task RollbackQuietlyAsync(string transactionId)
    {
        try
        {
            await SendAsync(
                    HttpMethod.Post,
                    EscapePath(DocumentsRoot) + ":rollback",
                    new RollbackRequestWire { Transaction = transactionId },
                    FirestoreJsonContext.Default.RollbackRequestWire,
                    FirestoreJsonContext.Default.EmptyWire,
                    CancellationToken.None)
                .ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is FirestoreException or HttpRequestException or TaskCanceledException)
        {
            // An aborted or expired transaction may already be gone; its locks lapse on their own.
            _logger.LogDebug(ex, "Firestore rollback failed");
        }
    }

    private async Task<FirestoreWriteResult> CommitSingleAsync(Action<FirestoreWriter> addWrite, CancellationToken cancellationToken)
    {
        var batch = Batch();
        addWrite(batch);
        var result = await batch.CommitAsync(cancellationToken).ConfigureAwait(false);
        return result.WriteResults.Count > 0 ? result.WriteResults[0] : new FirestoreWriteResult(null, []);
    }

    // 20 characters from a 62-letter alphabet, as the official SDKs generate.
    private static string NewDocumentId()
    {
        const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        return string.Create(20, 0, static (chars, _) =>
        {
            for (var i = 0; i < chars.Length; i++)
            {
                chars[i] = Alphabet[System.Security.Cryptography.RandomNumberGenerator.GetInt32(Alphabet.Length)];
            }
        });
    }

    private async Task<TResponse> SendAsync<TRequest, TResponse>(
        HttpMethod method,
        string relativeUri,
        TRequest? body,
        JsonTypeInfo<TRequest> requestType,
        JsonTypeInfo<TResponse> responseType,
        CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(relativeUri, UriKind.Relative));
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, requestType);
        }

        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        return await ReadAsync(response, responseType, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw new FirestoreException(await GoogleApiError.ReadAsync(response, cancellationToken).ConfigureAwait(false));
        }

        var result = await response.Content.ReadFromJsonAsync(type, cancellationToken).ConfigureAwait(false);
        return result ?? throw new InvalidOperationException("Firestore returned an empty body.");
    }

    // Segments are escaped one by one; the database root keeps its literal "(default)".
    private string EscapePath(string resourceName)
    {
        if (!resourceName.StartsWith(DocumentsRoot, StringComparison.Ordinal) || resourceName.Length == DocumentsRoot.Length)
        {
            return resourceName;
        }

        var builder = new StringBuilder(DocumentsRoot);
        foreach (var segment in resourceName[(DocumentsRoot.Length + 1)..].Split('/'))
        {
            builder.Append('/').Append(Uri.EscapeDataString(segment));
        }

        return builder.ToString();
    }

    private static (string Parent, string CollectionId) SplitCollectionPath(string collectionPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(collectionPath);
        var trimmed = collectionPath.Trim('/');
        if (trimmed.Split('/').Length % 2 != 1)
        {
            throw new ArgumentException($"'{collectionPath}' is not a collection path.", nameof(collectionPath));
        }

        var lastSlash = trimmed.LastIndexOf('/');
        return lastSlash < 0 ? (string.Empty, trimmed) : (trimmed[..lastSlash], trimmed[(lastSlash + 1)..]);
    }
}
