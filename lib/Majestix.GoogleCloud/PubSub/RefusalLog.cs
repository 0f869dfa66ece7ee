namespace Majestix.GoogleCloud.PubSub;

/// <summary>
/// Rate-limits the warnings for messages the publisher refuses at its buffer. While Pub/Sub is down
/// every caller's message is refused, and a warning for each would flood the logs (and cost the
/// instance more than the calls they describe). The first refusal is written at once; refusals in the
/// following interval are counted per topic and reason and written together when it ends,
/// and so on until an interval passes without one.
/// </summary>
internal sealed class RefusalLog(TimeSpan interval, TimeProvider time, Action<RefusalLog.Entry> write) : IDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(string TopicId, PubSubDropReason Reason), long> _counted = [];
    private ITimer? _interval;
    private long _intervalStarted;
    private bool _closed;

    /// <summary>One line to write: <see cref="Count"/> refusals, summed over <see cref="Over"/> (zero for a single one).</summary>
    internal readonly record struct Entry(string TopicId, PubSubDropReason Reason, long Count, TimeSpan Over);

    public void Add(string topicId, PubSubDropReason reason)
    {
        lock (_lock)
        {
            if (_interval is not null)
            {
                _counted[(topicId, reason)] = _counted.GetValueOrDefault((topicId, reason)) + 1;
                return;
            }

            write(new Entry(topicId, reason, 1, TimeSpan.Zero));
            if (!_closed)
            {
                StartInterval();
            }
        }
    }

    /// <summary>Writes what was counted; later refusals are written one by one.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            _closed = true;
            StopInterval();
            WriteCounted();
        }
    }

    private void EndInterval()
    {
        lock (_lock)
        {
            StopInterval();
            // Refusals that went on through this interval are counted through the next one too.
            if (WriteCounted() && !_closed)
            {
                StartInterval();
            }
        }
    }

    private void StartInterval()
    {
        _intervalStarted = time.GetTimestamp();
        _interval = time.CreateTimer(_ => EndInterval(), null, interval, Timeout.InfiniteTimeSpan);
    }

    private void StopInterval()
    {
        _interval?.Dispose();
        _interval = null;
    }

    private bool WriteCounted()
    {
        if (_counted.Count == 0)
        {
            return false;
        }

        var over = time.GetElapsedTime(_intervalStarted);
        foreach (var ((topicId, reason), count) in _counted)
        {
            write(new Entry(topicId, reason, count, over));
        }
        _counted.Clear();
        return true;
    }
}
