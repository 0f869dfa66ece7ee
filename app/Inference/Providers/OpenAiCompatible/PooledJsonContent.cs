using System.Buffers;
using System.Net;

namespace Majestix.InferenceApi.Inference.Providers.OpenAiCompatible;

/// <summary>
/// A JSON request body written straight into a buffer rented from the array pool. The buffer goes back
/// to the pool when the content is disposed, which must not happen before the response has been read:
/// the handler may still be sending the body while response headers arrive.
/// </summary>
internal sealed class PooledJsonContent : HttpContent, IBufferWriter<byte>
{
    private readonly PooledBufferWriter _body = new(4096);

    public PooledJsonContent() => Headers.TryAddWithoutValidation("Content-Type", "application/json");

    public void Advance(int count) => _body.Advance(count);

    public Memory<byte> GetMemory(int sizeHint = 0) => _body.GetMemory(sizeHint);

    public Span<byte> GetSpan(int sizeHint = 0) => _body.GetSpan(sizeHint);

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        stream.WriteAsync(_body.WrittenMemory).AsTask();

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
        stream.WriteAsync(_body.WrittenMemory, cancellationToken).AsTask();

    protected override void SerializeToStream(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
        stream.Write(_body.WrittenMemory.Span);

    protected override bool TryComputeLength(out long length)
    {
        length = _body.WrittenCount;
        return true;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _body.Dispose();
        }
        base.Dispose(disposing);
    }
}
