using System.Buffers;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Majestix.InferenceApi.Inference;

/// <summary>
/// Server-sent events as the clients read them: <c>data: {json}\n\n</c> frames, flushed one by one,
/// and a comment line whenever nothing else was sent for a while (clients abort after 60 s of silence).
/// </summary>
internal sealed class EventStream(HttpResponse response)
{
    private readonly TimeSpan _keepAliveInterval = TimeSpan.FromSeconds(
        response.HttpContext.RequestServices.GetRequiredService<IOptions<StreamingOptions>>().Value.KeepAliveSeconds);
    private static readonly byte[] KeepAliveFrame = ": keep-alive\n\n"u8.ToArray();
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);

    public async Task StartAsync()
    {
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        // Tells intermediaries (nginx, some load balancers) not to hold frames back.
        response.Headers["X-Accel-Buffering"] = "no";
        await response.StartAsync();
    }

    public async Task WriteAsync(Action<Utf8JsonWriter> writeObject, CancellationToken cancellationToken)
    {
        _buffer.ResetWrittenCount();
        _buffer.Write("data: "u8);
        using (var writer = new Utf8JsonWriter(_buffer))
        {
            writer.WriteStartObject();
            writeObject(writer);
            writer.WriteEndObject();
        }
        _buffer.Write("\n\n"u8);
        await response.Body.WriteAsync(_buffer.WrittenMemory, cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }

    public async Task KeepAliveAsync(CancellationToken cancellationToken)
    {
        await response.Body.WriteAsync(KeepAliveFrame, cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
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
                // Only a read that is actually waiting gets a timer; buffered events pass straight through.
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
                yield break;
            }
            yield return source.Current;
        }
    }
}
