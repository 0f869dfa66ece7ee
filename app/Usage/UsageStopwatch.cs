namespace Majestix.InferenceApi.UsageEvents;

/// <summary>Latency and time to first token of one model call, on the app's <see cref="TimeProvider"/>.</summary>
public sealed class UsageStopwatch
{
    private readonly TimeProvider _time;
    private readonly long _started;

    private UsageStopwatch(TimeProvider time)
    {
        _time = time;
        _started = time.GetTimestamp();
    }

    public TimeSpan Elapsed => _time.GetElapsedTime(_started);

    /// <summary>Null until <see cref="MarkFirstToken"/>.</summary>
    public TimeSpan? TimeToFirstToken { get; private set; }

    public static UsageStopwatch StartNew(TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        return new UsageStopwatch(time);
    }

    /// <summary>Call on every output event; only the first one counts.</summary>
    public void MarkFirstToken() => TimeToFirstToken ??= Elapsed;
}
