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
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(4096);
    private int _written;

    public PooledJsonContent() => Headers.TryAddWithoutValidation("Content-Type", "application/json");

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    public void Advance(int count) => _written += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        EnsureCapacity(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        EnsureCapacity(sizeHint);
        return _buffer.AsSpan(_written);
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        stream.WriteAsync(WrittenMemory).AsTask();

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
        stream.WriteAsync(WrittenMemory, cancellationToken).AsTask();

    protected override void SerializeToStream(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
        stream.Write(WrittenMemory.Span);

    protected override bool TryComputeLength(out long length)
    {
        length = _written;
        return true;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && _buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
            _written = 0;
        }
        base.Dispose(disposing);
    }

    private void EnsureCapacity(int sizeHint)
    {
        var needed = _written + Math.Max(sizeHint, 1);
        if (needed <= _buffer.Length)
        {
            return;
        }
        var larger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, _buffer.Length * 2));
        _buffer.AsSpan(0, _written).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = larger;
    }
}
