using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Majestix.ServiceDefaults;
using Serilog.Events;
using Serilog.Parsing;

namespace Majestix.ServiceDefaults.Tests;

public sealed class StdoutLogSinkTests
{
    private static readonly MessageTemplateParser Parser = new();

    [Fact]
    public void EveryLineArrivesInOrderAndDisposeWritesTheRest()
    {
        var output = new MemoryStream();
        var sink = new StdoutLogSink(new CloudLoggingFormatter(null), new KeepOpenStream(output));

        for (var i = 0; i < 2_000; i++)
        {
            sink.Emit(Event($"line {i}"));
        }
        sink.Dispose();

        var lines = Lines(output);
        lines.Count.ShouldBe(2_000);
        lines.Select(line => line.GetProperty("message").GetString()).ShouldBe(Enumerable.Range(0, 2_000).Select(i => $"line {i}"));
        sink.DroppedCount.ShouldBe(0);
    }

    [Fact]
    public void TraceContextIsTakenFromTheLoggingThreadNotTheWriter()
    {
        var output = new MemoryStream();
        var sink = new StdoutLogSink(new CloudLoggingFormatter("inference-platform"), new KeepOpenStream(output));
        using (var activity = new Activity("request").SetIdFormat(ActivityIdFormat.W3C).Start())
        {
            activity.ActivityTraceFlags = ActivityTraceFlags.Recorded;
            sink.Emit(Event("traced"));
            sink.Dispose();

            var line = Lines(output).Single();
            line.GetProperty(CloudLoggingFormatter.TraceField).GetString().ShouldBe($"projects/inference-platform/traces/{activity.TraceId.ToHexString()}");
            line.GetProperty(CloudLoggingFormatter.SampledField).GetBoolean().ShouldBeTrue();
        }
    }

    [Fact]
    public async Task BlockedOutputDropsLinesWithoutBlockingTheCallerAndReportsTheCount()
    {
        var output = new GatedStream();
        var sink = new StdoutLogSink(new CloudLoggingFormatter(null), output, capacity: 10);
        sink.Emit(Event("first"));
        await output.WriteStarted.WaitAsync(TimeSpan.FromSeconds(10));

        // The writer is stuck on "first": ten lines fit in the queue, the other forty are dropped at once.
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < 50; i++)
        {
            sink.Emit(Event($"queued {i}"));
        }
        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(5));
        sink.DroppedCount.ShouldBe(40);

        output.Open();
        sink.Dispose();

        var lines = Lines(output.Written);
        lines.Select(line => line.GetProperty("message").GetString())
            .ShouldBe(["first", .. Enumerable.Range(0, 10).Select(i => $"queued {i}"), "40 log line(s) dropped: standard output fell behind"]);
        lines[^1].GetProperty("severity").GetString().ShouldBe("WARNING");
    }

    [Fact]
    public void ClosedOutputNeverThrowsIntoTheLogger()
    {
        var sink = new StdoutLogSink(new CloudLoggingFormatter(null), new BrokenPipeStream());

        for (var i = 0; i < 100; i++)
        {
            sink.Emit(Event($"line {i}"));
        }

        Should.NotThrow(sink.Dispose);
    }

    private static LogEvent Event(string message) =>
        new(DateTimeOffset.UtcNow, LogEventLevel.Information, null, Parser.Parse(message.Replace("{", "{{", StringComparison.Ordinal)), []);

    private static List<JsonElement> Lines(MemoryStream output) =>
        Encoding.UTF8.GetString(output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => JsonDocument.Parse(line).RootElement).ToList();

    /// <summary>Standard output as the sink sees it: written to, never read or sought.</summary>
    private abstract class WriteOnlyStream : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    /// <summary>Lets the test read what was written after the sink has disposed its output.</summary>
    private sealed class KeepOpenStream(MemoryStream inner) : WriteOnlyStream
    {
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
    }

    /// <summary>Standard output whose reader has stopped reading, until the test opens it.</summary>
    private sealed class GatedStream : WriteOnlyStream
    {
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _writeStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public MemoryStream Written { get; } = new();
        public Task WriteStarted => _writeStarted.Task;
        public void Open() => _open.TrySetResult();

        public override void Write(byte[] buffer, int offset, int count) => Written.Write(buffer, offset, count);

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            _writeStarted.TrySetResult();
            await _open.Task;
            Written.Write(buffer.Span);
        }
    }

    private sealed class BrokenPipeStream : WriteOnlyStream
    {
        public override void Flush() => throw new IOException("Broken pipe");
        public override void Write(byte[] buffer, int offset, int count) => throw new IOException("Broken pipe");
    }
}
