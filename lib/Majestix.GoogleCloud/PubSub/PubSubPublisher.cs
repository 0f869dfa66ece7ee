using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Majestix.GoogleCloud.PubSub;

/// <summary>
/// Fire-and-forget publisher for analytics and audit events. Messages wait in a bounded buffer and
/// go out in batches (by count, bytes or delay, per topic and ordering key) with retries on
/// retryable errors. A full buffer drops the message and reports it rather than blocking the caller
/// (while refusals last, their warnings are summed per <see cref="PubSubOptions.DropReportInterval"/>).
/// Stopping the host (or disposing) drains the buffer within <see cref="PubSubOptions.ShutdownTimeout"/>.
/// </summary>
public sealed partial class PubSubPublisher : IHostedService, IAsyncDisposable
{
    private readonly PubSubClient _client;
    private readonly PubSubOptions _options;
    private readonly ILogger<PubSubPublisher> _logger;
    private readonly Channel<QueuedMessage> _buffer;
    private readonly CancellationTokenSource _abort = new();
    private readonly Task _sendLoop;
    private readonly SemaphoreSlim _publishSlots;
    private readonly List<Task> _inFlight = [];
    private readonly RefusalLog _refusals;
    private TaskCompletionSource _wakeUp = NewSignal();
    private TaskCompletionSource _progress = NewSignal();
    private long _accepted;
    private long _settled;
    private long _published;
    private long _dropped;
    private long _flushRequests;
    private int _stopped;

    /// <summary>Creates the publisher and starts its send loop.</summary>
    public PubSubPublisher(PubSubClient client, IOptions<PubSubOptions> options, ILogger<PubSubPublisher>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        _client = client;
        _options = options.Value;
        _logger = logger ?? NullLogger<PubSubPublisher>.Instance;
        _buffer = Channel.CreateBounded<QueuedMessage>(new BoundedChannelOptions(_options.MaxBufferedMessages)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
        _publishSlots = new SemaphoreSlim(_options.MaxConcurrentPublishes);
        _refusals = new RefusalLog(_options.DropReportInterval, TimeProvider.System, LogRefused);
        _sendLoop = Task.Run(SendLoopAsync);
    }

    /// <summary>Messages the server accepted.</summary>
    public long PublishedCount => Interlocked.Read(ref _published);

    /// <summary>Messages dropped for any <see cref="PubSubDropReason"/>.</summary>
    public long DroppedCount => Interlocked.Read(ref _dropped);

    /// <summary>
    /// Queues a message for <paramref name="topicId"/>. Never blocks: returns false (and reports a
    /// drop) when the buffer is full or the publisher is stopping.
    /// </summary>
    public bool TryPublish(string topicId, PubSubMessage message)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(topicId);
        ArgumentNullException.ThrowIfNull(message);
        if (message.Data.IsEmpty && message.Attributes is not { Count: > 0 })
        {
            throw new ArgumentException("A message needs data or at least one attribute.", nameof(message));
        }

        if (Volatile.Read(ref _stopped) != 0)
        {
            ReportRefused(topicId, PubSubDropReason.PublisherStopped);
            return false;
        }

        // Counted before the write so a concurrent FlushAsync never sees a settled count ahead of it.
        Interlocked.Increment(ref _accepted);
        if (_buffer.Writer.TryWrite(new QueuedMessage(topicId, message)))
        {
            return true;
        }

        Interlocked.Decrement(ref _accepted);
        ReportRefused(topicId, Volatile.Read(ref _stopped) != 0 ? PubSubDropReason.PublisherStopped : PubSubDropReason.BufferFull);
        return false;
    }

    /// <summary>Sends everything queued so far without waiting for the batch delay, and waits until it is settled.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        var target = Interlocked.Read(ref _accepted);
        while (Interlocked.Read(ref _settled) < target)
        {
            var progress = Volatile.Read(ref _progress).Task;
            if (Interlocked.Read(ref _settled) >= target)
            {
                return;
            }

            Interlocked.Increment(ref _flushRequests);
            Interlocked.Exchange(ref _wakeUp, NewSignal()).TrySetResult();
            await progress.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Stops accepting messages and drains the buffer, bounded by the shutdown timeout and <paramref name="cancellationToken"/>.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Volatile.Write(ref _stopped, 1);
        _buffer.Writer.TryComplete();
        Interlocked.Exchange(ref _wakeUp, NewSignal()).TrySetResult();
        try
        {
            await _sendLoop.WaitAsync(_options.ShutdownTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            LogShutdownTimedOut(_logger);
            await _abort.CancelAsync().ConfigureAwait(false);
            await _sendLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        finally
        {
            _refusals.Dispose();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _abort.Dispose();
        _publishSlots.Dispose();
    }

    private async Task SendLoopAsync()
    {
        var pending = new Dictionary<(string Topic, string? OrderingKey), Batch>();
        var deadline = DateTimeOffset.MaxValue;
        var reader = _buffer.Reader;
        var flushesHandled = 0L;
        Task<bool>? dataArrived = null;
        while (true)
        {
            // Messages leave the buffer only while a publish slot is free: one taken out and held for a
            // slot would let the buffer take one more than its bound.
            if (_publishSlots.CurrentCount == 0)
            {
                await _publishSlots.WaitAsync().ConfigureAwait(false);
                _publishSlots.Release();
            }

            var wakeUp = Volatile.Read(ref _wakeUp).Task;
            while (_publishSlots.CurrentCount > 0 && reader.TryRead(out var queued))
            {
                var key = (queued.TopicId, queued.Message.OrderingKey);
                if (!pending.TryGetValue(key, out var batch))
                {
                    batch = new Batch(queued.TopicId, queued.Message.OrderingKey);
                    pending[key] = batch;
                    if (pending.Count == 1)
                    {
                        deadline = DateTimeOffset.UtcNow + _options.MaxBatchDelay;
                    }
                }

                if (batch.Messages.Count > 0 && batch.Bytes + queued.Message.EstimatedSize > _options.MaxBatchBytes)
                {
                    await DispatchAsync(batch).ConfigureAwait(false);
                    batch = new Batch(queued.TopicId, queued.Message.OrderingKey);
                    pending[key] = batch;
                }

                batch.Add(queued.Message);
                if (batch.Messages.Count >= _options.MaxBatchMessages || batch.Bytes >= _options.MaxBatchBytes)
                {
                    await DispatchAsync(batch).ConfigureAwait(false);
                    pending.Remove(key);
                }
            }

            var flushRequested = Interlocked.Read(ref _flushRequests) != flushesHandled;
            var completed = reader.Completion.IsCompleted;
            if (pending.Count > 0 && (flushRequested || completed || DateTimeOffset.UtcNow >= deadline))
            {
                foreach (var batch in pending.Values)
                {
                    await DispatchAsync(batch).ConfigureAwait(false);
                }

                pending.Clear();
            }

            if (flushRequested)
            {
                flushesHandled = Interlocked.Read(ref _flushRequests);
                Signal(ref _progress);
            }

            if (completed)
            {
                await Task.WhenAll(_inFlight).ConfigureAwait(false);
                return;
            }

            // One outstanding wait at a time: abandoned waits would pile up in the channel.
            if (dataArrived is null || dataArrived.IsCompleted)
            {
                dataArrived = reader.WaitToReadAsync().AsTask();
            }

            if (pending.Count == 0)
            {
                await Task.WhenAny(dataArrived, wakeUp).ConfigureAwait(false);
            }
            else
            {
                var remaining = deadline - DateTimeOffset.UtcNow;
                if (remaining > TimeSpan.Zero)
                {
                    await Task.WhenAny(dataArrived, wakeUp, Task.Delay(remaining)).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>
    /// Starts a publish and returns once it holds one of the concurrent slots (waiting for one when all
    /// are taken, which backs pressure up into the buffer). One publish at a time caps throughput at a
    /// batch per round trip — about 2,000 messages/s at 50 ms — which a busy instance exceeds. A batch
    /// with an ordering key is published before the loop goes on, so one key's batches stay in order.
    /// </summary>
    private async Task DispatchAsync(Batch batch)
    {
        if (batch.OrderingKey is not null)
        {
            await SendAsync(batch).ConfigureAwait(false);
            return;
        }
        await _publishSlots.WaitAsync().ConfigureAwait(false);
        _inFlight.RemoveAll(task => task.IsCompleted);
        _inFlight.Add(SendInSlotAsync(batch));
    }

    private async Task SendInSlotAsync(Batch batch)
    {
        try
        {
            await SendAsync(batch).ConfigureAwait(false);
        }
        finally
        {
            _publishSlots.Release();
        }
    }

    private async Task SendAsync(Batch batch)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await _client.PublishAsync(batch.TopicId, batch.Messages, _abort.Token).ConfigureAwait(false);
                Interlocked.Add(ref _published, batch.Messages.Count);
                break;
            }
            catch (Exception ex) when (attempt < _options.MaxPublishAttempts && IsRetryable(ex))
            {
                var delay = _options.RetryBackoff.DelayFor(attempt);
                LogRetrying(_logger, batch.TopicId, batch.Messages.Count, attempt, (int)delay.TotalMilliseconds, ex.Message);
                try
                {
                    await Task.Delay(delay, _abort.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    ReportDrop(batch.TopicId, batch.Messages.Count, PubSubDropReason.PublisherStopped, ex);
                    break;
                }
            }
            catch (Exception ex)
            {
                var reason = _abort.IsCancellationRequested ? PubSubDropReason.PublisherStopped : PubSubDropReason.PublishFailed;
                ReportDrop(batch.TopicId, batch.Messages.Count, reason, ex);
                break;
            }
        }

        Interlocked.Add(ref _settled, batch.Messages.Count);
        Signal(ref _progress);
    }

    private bool IsRetryable(Exception ex) => !_abort.IsCancellationRequested && ex switch
    {
        PubSubException pubSub => pubSub.IsRetryable,
        HttpRequestException => true,
        // HttpClient reports its own timeout as a cancellation of a token nobody cancelled.
        TaskCanceledException => true,
        _ => false,
    };

    private void ReportRefused(string topicId, PubSubDropReason reason)
    {
        Interlocked.Increment(ref _dropped);
        _refusals.Add(topicId, reason);
        InvokeDropped(topicId, 1, reason, error: null);
    }

    private void ReportDrop(string topicId, int count, PubSubDropReason reason, Exception? error)
    {
        Interlocked.Add(ref _dropped, count);
        LogDropped(_logger, count, topicId, reason, error);
        InvokeDropped(topicId, count, reason, error);
    }

    private void LogRefused(RefusalLog.Entry entry)
    {
        if (entry.Over == TimeSpan.Zero)
        {
            LogDropped(_logger, (int)entry.Count, entry.TopicId, entry.Reason, error: null);
        }
        else
        {
            LogDroppedOver(_logger, entry.Count, entry.TopicId, Math.Round(entry.Over.TotalSeconds, 1), entry.Reason);
        }
    }

    private void InvokeDropped(string topicId, int count, PubSubDropReason reason, Exception? error)
    {
        try
        {
            _options.MessagesDropped?.Invoke(new PubSubDroppedMessages(topicId, count, reason, error));
        }
        catch (Exception ex)
        {
            LogCallbackFailed(_logger, ex);
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static void Signal(ref TaskCompletionSource signal) => Interlocked.Exchange(ref signal, NewSignal()).TrySetResult();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropped {Count} Pub/Sub message(s) for topic {TopicId}: {Reason}")]
    private static partial void LogDropped(ILogger logger, int count, string topicId, PubSubDropReason reason, Exception? error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropped {Count} more Pub/Sub message(s) for topic {TopicId} over the last {Seconds} s: {Reason}")]
    private static partial void LogDroppedOver(ILogger logger, long count, string topicId, double seconds, PubSubDropReason reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Publishing {Count} message(s) to {TopicId} failed on attempt {Attempt}; retrying in {DelayMs} ms: {Error}")]
    private static partial void LogRetrying(ILogger logger, string topicId, int count, int attempt, int delayMs, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pub/Sub publisher shutdown timed out; remaining messages are dropped")]
    private static partial void LogShutdownTimedOut(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "The MessagesDropped callback threw")]
    private static partial void LogCallbackFailed(ILogger logger, Exception error);

    private readonly record struct QueuedMessage(string TopicId, PubSubMessage Message);

    private sealed class Batch(string topicId, string? orderingKey)
    {
        public string TopicId { get; } = topicId;

        public string? OrderingKey { get; } = orderingKey;

        public List<PubSubMessage> Messages { get; } = [];

        public int Bytes { get; private set; }

        public void Add(PubSubMessage message)
        {
            Messages.Add(message);
            Bytes += message.EstimatedSize;
        }
    }
}
