using System.Buffers;

namespace Majestix.InferenceApi;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> over pooled arrays, returned on dispose: for bodies written whole before
/// they are sent, whose bytes must not stay allocated once sent.
/// </summary>
internal sealed class PooledBufferWriter(int initialCapacity) : IBufferWriter<byte>, IDisposable
{
    // Not the shared pool: a provider call keeps its request body's buffer until the call ends (the handler may
    // send it again on a stale connection), so under load more are out at once than the shared pool keeps per
    // core (32), and at 64 calls in flight on one core about one in eight rented a new array. Bodies larger than
    // this pool keeps are allocated and dropped, so what it holds stays bounded (at most 128 arrays of a size).
    private static readonly ArrayPool<byte> Pool = ArrayPool<byte>.Create(maxArrayLength: 64 * 1024, maxArraysPerBucket: 128);

    private byte[] _buffer = Pool.Rent(initialCapacity);
    private int _written;

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    public int WrittenCount => _written;

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

    public void Dispose()
    {
        if (_buffer.Length > 0)
        {
            Pool.Return(_buffer);
            _buffer = [];
            _written = 0;
        }
    }

    private void EnsureCapacity(int sizeHint)
    {
        var needed = _written + Math.Max(sizeHint, 1);
        if (needed <= _buffer.Length)
        {
            return;
        }
        var larger = Pool.Rent(Math.Max(needed, _buffer.Length * 2));
        _buffer.AsSpan(0, _written).CopyTo(larger);
        Pool.Return(_buffer);
        _buffer = larger;
    }
}
