using System.Collections.Concurrent;

namespace Majestix.InferenceApi.Inference;

/// <summary>How a call's settle relates to its answer.</summary>
internal enum Settlement
{
    /// <summary>The answer reports the charge (<c>credits_used</c>), so it waits for the settle.</summary>
    BeforeAnswer,

    /// <summary>
    /// The answer reports no charge (the OpenAI-compatible endpoint): the settle is sent before the answer is
    /// written and the request ends without waiting for its reply.
    /// </summary>
    Background,
}

/// <summary>
/// The settles still running after their request ended (<see cref="Settlement.Background"/>), and the retries of
/// settles Redis could not take (<see cref="Retry"/>). Shutdown waits for them; it is registered after the ledger
/// writer and the usage publisher, so it stops before them and what these settles queue is still drained. A retry
/// is told to stop first: its charge is in the ledger under the hold id, and the reaper of any instance settles
/// the hold at that charge. A process killed outright in the sub-millisecond window of a background settle leaves
/// the hold to the reaper, which voids it: the call goes unbilled, never billed twice.
/// </summary>
internal sealed class BackgroundSettles(ILogger<BackgroundSettles> logger) : IHostedService, IDisposable
{
    private readonly ConcurrentDictionary<Task, byte> _running = new();
    private readonly CancellationTokenSource _stopping = new();
    private bool _disposed;

    public int Running => _running.Count;

    /// <summary>Runs a settle's retry loop until it is done or shutdown asks it to stop (the token it is given).</summary>
    public void Retry(Func<CancellationToken, Task> retry, string requestId) => Track(retry(_stopping.Token), requestId);

    public void Track(Task settle, string requestId)
    {
        var observed = ObserveAsync(settle, requestId);
        _running.TryAdd(observed, 0);
        // Added before the removal is registered, so a settle that has already finished is removed at once.
        observed.ContinueWith(static (task, running) => ((ConcurrentDictionary<Task, byte>)running!).TryRemove(task, out _), _running,
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private async Task ObserveAsync(Task settle, string requestId)
    {
        try
        {
            await settle;
        }
        catch (Exception exception)
        {
            // Nobody awaits this settle: log it. The hold stays until the reaper voids it.
            logger.LogError(exception, "The settle of request {RequestId} failed after its answer was sent; the reaper will void its hold", requestId);
        }
    }

    /// <summary>Completes when no settle is running (observers never throw, so this only waits).</summary>
    public async Task WhenIdleAsync(CancellationToken cancellationToken)
    {
        while (!_running.IsEmpty)
        {
            await Task.WhenAll(_running.Keys).WaitAsync(cancellationToken);
            await Task.Yield();
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // A host stopped again after its container was disposed (a test factory disposed twice) has nothing left to stop.
        if (!_disposed)
        {
            await _stopping.CancelAsync();
        }
        if (!_running.IsEmpty)
        {
            logger.LogInformation("Shutdown waits for {Count} background settles", _running.Count);
        }
        try
        {
            await WhenIdleAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The host's shutdown timeout ran out: let the ledger writer and the publisher still drain what they have.
            logger.LogWarning("Shutdown timed out with {Count} background settles running; the reaper will void their holds", _running.Count);
        }
    }

    public void Dispose()
    {
        _disposed = true;
        _stopping.Dispose();
    }
}
