using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;

namespace Majestix.Bench;

/// <summary>
/// inference-api's allocations, garbage collections and JIT compilation, read from the runtime's own counters (the
/// <c>System.Runtime</c> event source, one sample a second) over an EventPipe session, as dotnet-counters
/// reads them. Sampling once a second costs the gateway nothing measurable.
/// </summary>
internal sealed class RuntimeCounters : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly EventPipeSession _session;
    private readonly EventPipeEventSource _source;
    private readonly Task _reading;
    private RuntimeTotals _totals = new(0, 0, 0, 0, DateTime.MinValue);

    private RuntimeCounters(int processId)
    {
        var provider = new EventPipeProvider("System.Runtime", EventLevel.Informational, 0,
            new Dictionary<string, string> { ["EventCounterIntervalSec"] = "1" });
        _session = new DiagnosticsClient(processId).StartEventPipeSession([provider], requestRundown: false);
        _source = new EventPipeEventSource(_session.EventStream);
        _source.Dynamic.All += Record;
        _reading = Task.Run(_source.Process);
    }

    public static RuntimeCounters Start(int processId) => new(processId);

    /// <summary>The totals since the session started, as of the last sample.</summary>
    public RuntimeTotals Take()
    {
        lock (_lock)
        {
            return _totals;
        }
    }

    private void Record(TraceEvent traceEvent)
    {
        if (traceEvent.EventName != "EventCounters"
            || traceEvent.PayloadValue(0) is not IDictionary<string, object> wrapper
            || wrapper["Payload"] is not IDictionary<string, object> counter
            || !counter.TryGetValue("Increment", out var increment))
        {
            return;
        }
        var value = Convert.ToDouble(increment, System.Globalization.CultureInfo.InvariantCulture);
        lock (_lock)
        {
            _totals = counter["Name"] switch
            {
                // The samples of one second arrive together; the allocation counter marks the second.
                "alloc-rate" => _totals with { AllocatedBytes = _totals.AllocatedBytes + value, SampledAt = traceEvent.TimeStamp },
                "gen-0-gc-count" or "gen-1-gc-count" or "gen-2-gc-count" => _totals with { Collections = _totals.Collections + value },
                "total-pause-time-by-gc" => _totals with { PauseMilliseconds = _totals.PauseMilliseconds + value },
                "time-in-jit" => _totals with { JitMilliseconds = _totals.JitMilliseconds + value },
                _ => _totals,
            };
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _session.StopAsync(CancellationToken.None);
            await _reading;
        }
        catch (Exception exception) when (exception is ServerNotAvailableException or IOException or EndOfStreamException)
        {
            // inference-api has already stopped: nothing left to read.
        }
        _source.Dispose();
        _session.Dispose();
    }
}

/// <summary>Counter totals as of one sample.</summary>
internal sealed record RuntimeTotals(double AllocatedBytes, double Collections, double PauseMilliseconds, double JitMilliseconds, DateTime SampledAt)
{
    /// <summary>Rates between two samples; null when no second passed between them.</summary>
    public static RuntimeUse? Between(RuntimeTotals before, RuntimeTotals after)
    {
        var seconds = (after.SampledAt - before.SampledAt).TotalSeconds;
        return before.SampledAt == DateTime.MinValue || seconds < 1
            ? null
            : new RuntimeUse((after.AllocatedBytes - before.AllocatedBytes) / seconds,
                (after.Collections - before.Collections) / seconds,
                (after.PauseMilliseconds - before.PauseMilliseconds) / seconds,
                (after.JitMilliseconds - before.JitMilliseconds) / seconds);
    }
}

/// <summary>
/// inference-api's allocation, GC and JIT rates over one run. JIT time is what tiered compilation still spends
/// recompiling hot code: near zero once warm, so a run with more was measured partly on unoptimised code.
/// </summary>
internal sealed record RuntimeUse(double AllocatedBytesPerSecond, double CollectionsPerSecond, double PauseMillisecondsPerSecond, double JitMillisecondsPerSecond);
