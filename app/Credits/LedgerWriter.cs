using System.Threading.Channels;
using Majestix.GoogleCloud.Firestore;
using Majestix.InferenceApi.Redis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Majestix.InferenceApi.Credits;

/// <summary>
/// Writes settled charges to the ledger off the request path, many per Firestore request. Every entry
/// it is given is already in the durable pending set (the settle script put it there), so nothing here
/// has to succeed for durability: an entry this writer cannot write, or never gets to (a full queue, a
/// crash, a shutdown that ran out of time), is written by the reaper's re-drive after its grace.
/// Writes are creates of the hold id, committed with the ledger's sums they change (<see cref="LedgerAggregates"/>),
/// so the writer and the reaper racing never write an entry, or count it, twice.
/// </summary>
internal sealed class LedgerWriter : BackgroundService
{
    // Firestore failing a batch: wait before the next one rather than spin against it.
    private static readonly TimeSpan FailureBackoff = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan FullQueueWarningInterval = TimeSpan.FromMinutes(1);

    private readonly CreditLedger _ledger;
    private readonly IDatabase _redis;
    private readonly TimeProvider _time;
    private readonly ILogger<LedgerWriter> _logger;
    private readonly TimeSpan _recordRetention;
    private readonly int _batchSize;
    private readonly TimeSpan _batchDelay;
    private readonly int _capacity;
    private readonly Channel<QueuedEntry> _queue;

    // Cancelled when the host's shutdown timeout runs out: the final drain gives up, the entries stay pending.
    private readonly CancellationTokenSource _abort = new();
    private readonly Lock _stopLock = new();
    private Task? _stopping;
    private long _nextFullWarningMs;
    private long _notQueued;

    public LedgerWriter(CreditLedger ledger, IDatabase redis, IOptions<CreditOptions> options, TimeProvider time, ILogger<LedgerWriter> logger)
    {
        _ledger = ledger;
        _redis = redis;
        _time = time;
        _logger = logger;
        _recordRetention = options.Value.SettledHoldRetention;
        _batchSize = options.Value.LedgerBatchSize;
        _batchDelay = TimeSpan.FromMilliseconds(options.Value.LedgerBatchDelayMilliseconds);
        _capacity = options.Value.LedgerQueueCapacity;
        _queue = Channel.CreateBounded<QueuedEntry>(new BoundedChannelOptions(_capacity) { SingleReader = true });
    }

    private sealed record QueuedEntry(string UserId, string HoldId, LedgerEntry Entry)
    {
        public string Member => CreditKeys.HoldMember(UserId, HoldId);
    }

    /// <summary>Queues a settled charge whose hold is in the pending set; never waits.</summary>
    public void Enqueue(string userId, string holdId, LedgerEntry entry)
    {
        if (_queue.Writer.TryWrite(new QueuedEntry(userId, holdId, entry)))
        {
            return;
        }
        Interlocked.Increment(ref _notQueued);
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var due = Interlocked.Read(ref _nextFullWarningMs);
        if (now >= due && Interlocked.CompareExchange(ref _nextFullWarningMs, now + (long)FullQueueWarningInterval.TotalMilliseconds, due) == due)
        {
            _logger.LogWarning("The ledger write queue is full ({Capacity}); {Count} charges since the last warning are left to the reaper's re-drive",
                _capacity, Interlocked.Exchange(ref _notQueued, 0));
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested && await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                if (_queue.Reader.Count < _batchSize && _batchDelay > TimeSpan.Zero)
                {
                    // Let a batch gather: one Firestore request per entry would cost more than the entries themselves.
                    await Task.Delay(_batchDelay, stoppingToken);
                }
                // The write itself is not cut short by the stop signal: StopAsync waits for it (bounded by the host).
                if (!await TryWriteAvailableAsync(_abort.Token))
                {
                    await Task.Delay(FailureBackoff, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested || _abort.IsCancellationRequested)
        {
        }
    }

    /// <summary>Stops the loop, then writes what is still queued until the host's shutdown timeout.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        using var registration = cancellationToken.Register(_abort.Cancel);
        Task stopping;
        // The host may stop twice (a test host stops it and so does the app's run loop): the second call
        // must wait for the first drain, not return and let the container be disposed under it.
        lock (_stopLock)
        {
            stopping = _stopping ??= StopAndDrainAsync();
        }
        await stopping;
    }

    private async Task StopAndDrainAsync()
    {
        try
        {
            await base.StopAsync(_abort.Token);
            while (!_abort.IsCancellationRequested && _queue.Reader.Count > 0)
            {
                if (!await TryWriteAvailableAsync(_abort.Token))
                {
                    // Firestore is failing: the rest is in the pending set for the reaper of a running instance.
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
        }
        if (_queue.Reader.Count > 0)
        {
            _logger.LogWarning("Stopped with {Count} ledger entries unwritten; the reaper re-drives them from the pending set", _queue.Reader.Count);
        }
    }

    public override void Dispose()
    {
        _abort.Dispose();
        base.Dispose();
    }

    private async Task<bool> TryWriteAvailableAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await WriteAvailableAsync(cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // A background service that throws stops the host: one bad batch must not take the API down.
            _logger.LogError(exception, "Writing ledger entries failed; they stay pending for the reaper's re-drive");
            return false;
        }
    }

    /// <summary>Writes the queued entries (one batch, without waiting for more); false when any write failed.</summary>
    private async Task<bool> WriteAvailableAsync(CancellationToken cancellationToken)
    {
        var batch = new List<QueuedEntry>(Math.Min(_batchSize, _queue.Reader.Count));
        while (batch.Count < _batchSize && _queue.Reader.TryRead(out var queued))
        {
            batch.Add(queued);
        }
        if (batch.Count == 0)
        {
            return true;
        }

        IReadOnlyList<(bool InLedger, FirestoreErrorKind? Error)> results;
        try
        {
            results = await _ledger.AppendBatchAsync([.. batch.Select(e => (e.UserId, e.HoldId, e.Entry))], cancellationToken);
        }
        catch (Exception exception) when (exception is FirestoreException or HttpRequestException
            || (exception is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            _logger.LogWarning("Writing {Count} ledger entries failed ({Reason}); they stay pending for the reaper's re-drive",
                batch.Count, exception is FirestoreException firestore ? firestore.Kind.ToString() : exception.GetType().Name);
            return false;
        }

        var written = batch.Where((_, i) => results[i].InLedger).ToList();
        var failed = results.Where(r => !r.InLedger).Select(r => r.Error).ToList();
        if (failed.Count > 0)
        {
            _logger.LogWarning("{Count} of {Total} ledger entries were not written ({Reasons}); they stay pending for the reaper's re-drive",
                failed.Count, batch.Count, string.Join(", ", failed.Distinct()));
        }
        await ConfirmAsync(written);
        return failed.Count == 0;
    }

    private async Task ConfirmAsync(List<QueuedEntry> written)
    {
        if (written.Count == 0)
        {
            return;
        }
        try
        {
            await ConfirmWrittenAsync(_redis, [.. written.Select(e => (RedisValue)e.Member)], _time.GetUtcNow() + _recordRetention);
        }
        catch (Exception exception) when (RedisGuard.IsOutage(exception))
        {
            // The reaper re-drives these (create-if-absent finds them written) and clears the markers then.
            _logger.LogWarning("Could not clear {Count} written ledger entries from the pending set ({Reason})", written.Count, exception.GetType().Name);
        }
    }

    /// <summary>
    /// What confirming written ledger entries (hold members) changes in Redis, issued together in one round trip,
    /// for this writer and the reaper's re-drive alike: the pending markers go; the settled records are kept
    /// until <paramref name="keepRecordsUntil"/> (a rebuild that read the ledger just before an entry was
    /// written finds the charge through its record; a record already forgotten stays so); the users' cached
    /// usage reports go (the report reads the ledger, so it is rebuilt once the entry is there).
    /// </summary>
    internal static Task ConfirmWrittenAsync(IDatabaseAsync redis, IReadOnlyCollection<RedisValue> members, DateTimeOffset keepRecordsUntil)
    {
        var until = keepRecordsUntil.ToUnixTimeMilliseconds();
        return Task.WhenAll(
            redis.SortedSetRemoveAsync(CreditKeys.LedgerPending, [.. members]),
            redis.SortedSetAddAsync(CreditKeys.HoldExpiry, [.. members.Select(member => new SortedSetEntry(member, until))],
                SortedSetWhen.Exists | SortedSetWhen.GreaterThan),
            redis.KeyDeleteAsync([.. members.Select(member => CreditKeys.ParseHoldMember(member!).UserId).Distinct().Select(UsageReports.CacheKey)]));
    }
}
