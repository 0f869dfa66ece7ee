using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Majestix.InferenceApi.Credits;

/// <summary>
/// Users whose balance a settle just lowered, for work that reacts to a low balance off the request path (auto
/// top-up). A user already waiting is not queued again, so a burst of one user's calls is looked at once; a full
/// queue drops the user (the next settle queues them again).
/// </summary>
internal sealed class BalanceWatch
{
    private const int Capacity = 10_000;

    private readonly Channel<string> _charged = Channel.CreateBounded<string>(
        new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    private readonly ConcurrentDictionary<string, byte> _waiting = new(StringComparer.Ordinal);

    public void Charged(string userId)
    {
        if (_waiting.TryAdd(userId, 0) && !_charged.Writer.TryWrite(userId))
        {
            _waiting.TryRemove(userId, out _);
        }
    }

    public async IAsyncEnumerable<string> ReadAllAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var userId in _charged.Reader.ReadAllAsync(cancellationToken))
        {
            _waiting.TryRemove(userId, out _);
            yield return userId;
        }
    }
}
