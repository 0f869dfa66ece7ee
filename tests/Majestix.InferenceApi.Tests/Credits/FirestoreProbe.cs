using System.Net;
using System.Text;
using Majestix.GoogleCloud.Firestore;
using Majestix.Testing;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace Majestix.InferenceApi.Tests.Credits;

/// <summary>
/// Watches the app's Firestore requests: counts the ledger's write requests (commits of entries) and the entries they carry, can
/// hold them at a gate, can hold query answers back, and can make writes fail the way an unavailable
/// Firestore does.
/// </summary>
internal sealed class FirestoreProbe
{
    private TaskCompletionSource _gate = Completed();
    private TaskCompletionSource _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _queryGate = Completed();
    private TaskCompletionSource _queryAnswered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _commitGate = Completed();
    private TaskCompletionSource _commitCommitted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _batchWrites;
    private int _documentsRead;
    private int _failedWrites;

    public int BatchWrites => Volatile.Read(ref _batchWrites);

    /// <summary>Documents the app has read: each one a GET, a batch read or a query answered with (what Firestore bills as reads).</summary>
    public int DocumentsRead => Volatile.Read(ref _documentsRead);

    public void ResetDocumentsRead() => Volatile.Write(ref _documentsRead, 0);

    /// <summary>Documents created by write requests that were answered UNAVAILABLE.</summary>
    public int FailedWrites => Volatile.Read(ref _failedWrites);

    /// <summary>Waits (up to 10 s) until write requests answered UNAVAILABLE have carried <paramref name="count"/> creates.</summary>
    public Task WaitForFailedWritesAsync(int count) =>
        Eventually.HoldsAsync(() => FailedWrites >= count, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(50));

    /// <summary>While set, commit (and batchWrite) requests are answered 503 UNAVAILABLE.</summary>
    public bool Unavailable { get; set; }

    /// <summary>While set, only the ledger's writes (commits of entries) are answered 503 UNAVAILABLE; other commits go through.</summary>
    public bool LedgerUnavailable { get; set; }

    /// <summary>Completes when a ledger write request has reached the probe (since the last <see cref="Hold"/>).</summary>
    public Task BatchWriteArrived => _arrived.Task;

    /// <summary>Holds every ledger write request (the ledger writer's batches, the reaper's, grants') until <see cref="Release"/>.</summary>
    public void Hold()
    {
        _arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public void Release() => _gate.TrySetResult();

    /// <summary>Completes when a query or a batch read has been answered (since the last <see cref="HoldQueryAnswers"/>).</summary>
    public Task QueryAnswered => _queryAnswered.Task;

    /// <summary>Queries and batch reads run when sent, but their answers reach the app only after <see cref="ReleaseQueryAnswers"/>.</summary>
    public void HoldQueryAnswers()
    {
        _queryAnswered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _queryGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public void ReleaseQueryAnswers() => _queryGate.TrySetResult();

    /// <summary>Completes when a commit has been applied (since the last <see cref="HoldCommitAnswers"/>).</summary>
    public Task CommitApplied => _commitCommitted.Task;

    /// <summary>Commits are applied when sent, but their answers reach the app only after <see cref="ReleaseCommitAnswers"/>.</summary>
    public void HoldCommitAnswers()
    {
        _commitCommitted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _commitGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public void ReleaseCommitAnswers() => _commitGate.TrySetResult();

    /// <summary>
    /// While set, commits are applied but answered 503 UNAVAILABLE: the write happened, the app does not know
    /// (a connection lost after the request, or a process stopped right after sending it).
    /// </summary>
    public bool LoseCommitAnswers { get; set; }

    /// <summary>The app with this probe in its Firestore client's pipeline.</summary>
    public WebApplicationFactory<Program> Attach(InferenceApiApplication app) =>
        app.WithWebHostBuilder(web => web.ConfigureTestServices(services =>
            services.AddHttpClient<FirestoreClient>().AddHttpMessageHandler(() => new Handler(this))));

    private static TaskCompletionSource Completed()
    {
        var done = new TaskCompletionSource();
        done.SetResult();
        return done;
    }

    private sealed class Handler(FirestoreProbe probe) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await SendWatchedAsync(request, cancellationToken);
            var path = request.RequestUri!.AbsolutePath;
            var read = request.Method == HttpMethod.Get || path.EndsWith(":runQuery", StringComparison.Ordinal) || path.EndsWith(":batchGet", StringComparison.Ordinal);
            if (read && response.IsSuccessStatusCode)
            {
                await response.Content.LoadIntoBufferAsync(cancellationToken);
                using var answer = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
                var documents = answer.RootElement.ValueKind == System.Text.Json.JsonValueKind.Array
                    ? answer.RootElement.EnumerateArray().Count(element => element.TryGetProperty("document", out _) || element.TryGetProperty("found", out _))
                    : 1;
                Interlocked.Add(ref probe._documentsRead, documents);
            }
            return response;
        }

        private async Task<HttpResponseMessage> SendWatchedAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var path = request.RequestUri!.AbsolutePath;
            if (path.EndsWith(":runQuery", StringComparison.Ordinal) || path.EndsWith(":batchGet", StringComparison.Ordinal))
            {
                var answer = await base.SendAsync(request, cancellationToken);
                await answer.Content.LoadIntoBufferAsync(cancellationToken);
                probe._queryAnswered.TrySetResult();
                await probe._queryGate.Task.WaitAsync(cancellationToken);
                return answer;
            }
            var commit = path.EndsWith(":commit", StringComparison.Ordinal);
            var body = "";
            if (commit || path.EndsWith(":batchWrite", StringComparison.Ordinal))
            {
                await request.Content!.LoadIntoBufferAsync(cancellationToken);
                body = await request.Content.ReadAsStringAsync(cancellationToken);
            }
            // The ledger's writes: commits of entries (and the aggregates that go with them).
            var ledgerWrite = (commit || path.EndsWith(":batchWrite", StringComparison.Ordinal)) && body.Contains("/ledger/", StringComparison.Ordinal);
            if (ledgerWrite)
            {
                Interlocked.Increment(ref probe._batchWrites);
                probe._arrived.TrySetResult();
                await probe._gate.Task.WaitAsync(cancellationToken);
            }
            if ((probe.Unavailable && (ledgerWrite || commit)) || (probe.LedgerUnavailable && ledgerWrite))
            {
                Interlocked.Add(ref probe._failedWrites, CountOf(body, "\"currentDocument\""));
                return Unavailable503();
            }
            if (commit)
            {
                var committed = await base.SendAsync(request, cancellationToken);
                await committed.Content.LoadIntoBufferAsync(cancellationToken);
                probe._commitCommitted.TrySetResult();
                await probe._commitGate.Task.WaitAsync(cancellationToken);
                if (probe.LoseCommitAnswers && committed.IsSuccessStatusCode)
                {
                    committed.Dispose();
                    return Unavailable503();
                }
                return committed;
            }
            return await base.SendAsync(request, cancellationToken);
        }

        private static HttpResponseMessage Unavailable503() => new(HttpStatusCode.ServiceUnavailable)
        {
            Content = new StringContent("""{"error":{"code":503,"message":"test outage","status":"UNAVAILABLE"}}""", Encoding.UTF8, "application/json"),
        };

        private static int CountOf(string text, string part)
        {
            var count = 0;
            for (var at = text.IndexOf(part, StringComparison.Ordinal); at >= 0; at = text.IndexOf(part, at + part.Length, StringComparison.Ordinal))
            {
                count++;
            }
            return count;
        }
    }
}
