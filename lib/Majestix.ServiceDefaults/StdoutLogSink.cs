using System.Text;
using System.Threading.Channels;
using Serilog.Core;
using Serilog.Events;

namespace Majestix.ServiceDefaults;

/// <summary>
/// Formats each event on the thread that logs it (trace context is read there) and leaves the write
/// to a background loop: a request never waits on stdout, and a burst of lines goes out in one write
/// instead of one per 256 characters, as <see cref="Console.Out"/> would. When the queue is full (stdout
/// blocked or far behind) lines are dropped and counted, and the count is logged once it drains.
/// </summary>
public sealed class StdoutLogSink : ILogEventSink, IDisposable
{
    public const int DefaultCapacity = 10_000;
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(5);

    private readonly CloudLoggingFormatter _formatter;
    private readonly Stream _output;
    private readonly Channel<byte[]> _lines;
    private readonly Task _writeLoop;
    private long _dropped;

    /// <param name="formatter">Writes one event as a line.</param>
    /// <param name="output">Standard output in production; owned and disposed by the sink.</param>
    /// <param name="capacity">Lines that may wait for the write loop before new ones are dropped.</param>
    public StdoutLogSink(CloudLoggingFormatter formatter, Stream output, int capacity = DefaultCapacity)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _formatter = formatter;
        _output = output;
        _lines = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(capacity)
        {
            // Wait mode makes TryWrite refuse when full (the Drop modes report success); Emit never waits.
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
        _writeLoop = Task.Run(WriteLoopAsync);
    }

    /// <summary>Lines dropped because the queue was full, since the sink started.</summary>
    public long DroppedCount => Interlocked.Read(ref _dropped);

    public void Emit(LogEvent logEvent)
    {
        if (!_lines.Writer.TryWrite(_formatter.FormatUtf8(logEvent)))
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    private async Task WriteLoopAsync()
    {
        var reader = _lines.Reader;
        long reportedDrops = 0;
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (reader.TryRead(out var line))
                {
                    await _output.WriteAsync(line).ConfigureAwait(false);
                }
                var dropped = Interlocked.Read(ref _dropped);
                if (dropped != reportedDrops)
                {
                    var notice = $"{{\"severity\":\"WARNING\",\"message\":\"{dropped - reportedDrops} log line(s) dropped: standard output fell behind\"}}\n";
                    await _output.WriteAsync(Encoding.UTF8.GetBytes(notice)).ConfigureAwait(false);
                    reportedDrops = dropped;
                }
                await _output.FlushAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // Standard output is gone (the pipe closed): nothing is left to write to.
        }
    }

    public void Dispose()
    {
        _lines.Writer.TryComplete();
        _writeLoop.Wait(DrainTimeout);
        _output.Dispose();
    }
}
