using System.Buffers;
using System.IO.Pipelines;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Majestix.MockUpstream.Serving;

// Writes SSE events straight into Kestrel's response pipe; one Utf8JsonWriter is reused for every event.
internal sealed class SseWriter : IDisposable
{
    public static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly PipeWriter _pipe;
    private readonly Utf8JsonWriter _json;

    public SseWriter(PipeWriter pipe)
    {
        _pipe = pipe;
        _json = new Utf8JsonWriter(pipe, JsonOptions);
    }

    /// <summary>Starts "event: name\ndata: " (or just "data: " when <paramref name="eventLine"/> is empty).</summary>
    public Utf8JsonWriter Current => _json;

    public Utf8JsonWriter Begin(ReadOnlySpan<byte> eventLine)
    {
        if (!eventLine.IsEmpty)
        {
            _pipe.Write(eventLine);
        }
        _pipe.Write("data: "u8);
        return _json;
    }

    public void End()
    {
        _json.Flush();
        _json.Reset();
        _pipe.Write("\n\n"u8);
    }

    public void Raw(ReadOnlySpan<byte> bytes) => _pipe.Write(bytes);

    public ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken) => _pipe.FlushAsync(cancellationToken);

    public void Dispose() => _json.Dispose();
}
