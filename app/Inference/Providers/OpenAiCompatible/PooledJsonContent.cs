using System.Net;

namespace Majestix.InferenceApi.Inference.Providers.OpenAiCompatible;

/// <summary>
/// A JSON request body written straight into a buffer rented from the array pool (<see cref="Body"/>). The
/// buffer goes back to the pool when the content is disposed, which must not happen before the response has
/// been read: the handler may still be sending the body while response headers arrive.
/// </summary>
internal sealed class PooledJsonContent : HttpContent
{
    public PooledJsonContent() => Headers.TryAddWithoutValidation("Content-Type", "application/json");

    public PooledBufferWriter Body { get; } = new(4096);

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        stream.WriteAsync(Body.WrittenMemory).AsTask();

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
        stream.WriteAsync(Body.WrittenMemory, cancellationToken).AsTask();

    protected override void SerializeToStream(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
        stream.Write(Body.WrittenMemory.Span);

    protected override bool TryComputeLength(out long length)
    {
        length = Body.WrittenCount;
        return true;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Body.Dispose();
        }
        base.Dispose(disposing);
    }
}
