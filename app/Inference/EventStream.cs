using System.Buffers;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Majestix.InferenceApi.Inference;

/// <summary>
/// Server-sent events as the clients read them: <c>data: {json}\n\n</c> frames, and a comment line
/// whenever nothing else was sent for a while (clients abort after 60 s of silence). Frames are written
/// straight into the response pipe and flushed whenever the stream is about to wait for the provider:
/// a burst the provider sent at once leaves in one write, and nothing ever sits in the buffer while
/// the gateway waits.
/// <para>
/// The status line and headers wait for the first frame (or the first keep-alive) and leave with it, so
/// they cost no time to first byte, and a call whose every provider fails before any output can still
/// be answered with a plain error status (<see cref="Started"/> is false). A first token slower than
/// the keep-alive interval starts the stream with a keep-alive: from then on a failure can only be an
/// error event.
/// </para>
/// </summary>
internal sealed class EventStream(HttpResponse response)
{
    // A provider that never pauses must not grow the buffer without bound.
    private const int MaxUnflushedBytes = 16 * 1024;

    private readonly TimeSpan _keepAliveInterval = TimeSpan.FromSeconds(
        response.HttpContext.RequestServices.GetRequiredService<IOptions<StreamingOptions>>().Value.KeepAliveSeconds);
    private static readonly byte[] KeepAliveFrame = ": keep-alive\n\n"u8.ToArray();
    private long _unflushed;
    private Utf8JsonWriter? _writer;
    private Func<Task>? _opening;

    /// <summary>True once the status line and headers are committed: an error can then only be an event.</summary>
    public bool Started { get; private set; }

    /// <summary>Frames written right after the headers, ahead of the first frame or keep-alive (OpenAI's role chunk).</summary>
    public void OpenWith(Func<Task> opening) => _opening = opening;

    private async Task StartAsync()
    {
        Started = true;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        // Tells intermediaries (nginx, some load balancers) not to hold frames back.
        response.Headers["X-Accel-Buffering"] = "no";
        // Kestrel writes the headers into the pipe here; they leave with the first flush, together with the first frame.
        await response.StartAsync();
        if (_opening is { } opening)
        {
            await opening();
        }
    }

    /// <summary>Writes one frame into the response; it leaves with the next flush (see the class summary).</summary>
    public Task WriteAsync(Action<Utf8JsonWriter> writeObject, CancellationToken cancellationToken) =>
        Started ? WriteFrameAsync(writeObject, cancellationToken) : StartThenWriteAsync(writeObject, cancellationToken);

    private async Task StartThenWriteAsync(Action<Utf8JsonWriter> writeObject, CancellationToken cancellationToken)
    {
        await StartAsync();
        await WriteFrameAsync(writeObject, cancellationToken);
    }

    private Task WriteFrameAsync(Action<Utf8JsonWriter> writeObject, CancellationToken cancellationToken)
    {
        var pipe = response.BodyWriter;
        pipe.Write("data: "u8);
        // One writer for every frame of the stream, pointed at the pipe again each time.
        var writer = _writer ??= new Utf8JsonWriter(pipe);
        writer.Reset(pipe);
        writer.WriteStartObject();
        writeObject(writer);
        writer.WriteEndObject();
        writer.Flush();
        _unflushed += writer.BytesCommitted + 8;
        pipe.Write("\n\n"u8);
        return _unflushed > MaxUnflushedBytes ? FlushAsync(cancellationToken) : Task.CompletedTask;
    }

    public async Task KeepAliveAsync(CancellationToken cancellationToken)
    {
        if (!Started)
        {
            await StartAsync();
        }
        response.BodyWriter.Write(KeepAliveFrame);
        await FlushAsync(cancellationToken);
    }

    /// <summary>Sends what was written; a client that has gone surfaces here as an <see cref="IOException"/>.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (!Started)
        {
            // Nothing written yet: the headers keep waiting for the first frame.
            return;
        }
        _unflushed = 0;
        var flushed = await response.BodyWriter.FlushAsync(cancellationToken);
        if (flushed.IsCompleted || flushed.IsCanceled)
        {
            throw new IOException("The client closed the connection.");
        }
    }

    /// <summary>
    /// Reads <paramref name="source"/> one item at a time, sending a keep-alive each time the next item
    /// takes longer than the keep-alive interval. Never has two reads of the source in flight.
    /// </summary>
    public async IAsyncEnumerable<T> WithKeepAlive<T>(IAsyncEnumerator<T> source, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (true)
        {
            var next = source.MoveNextAsync();
            bool moved;
            if (next.IsCompleted)
            {
                moved = await next;
            }
            else
            {
                // About to wait for the provider: what was written goes out now. Only a read that is
                // actually waiting gets a timer; buffered events pass straight through.
                await FlushAsync(cancellationToken);
                using var quiet = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var pending = next.AsTask();
                while (await Task.WhenAny(pending, Task.Delay(_keepAliveInterval, quiet.Token)) != pending)
                {
                    await KeepAliveAsync(cancellationToken);
                }
                await quiet.CancelAsync();
                moved = await pending;
            }
            if (!moved)
            {
                await FlushAsync(cancellationToken);
                yield break;
            }
            yield return source.Current;
        }
    }
}
