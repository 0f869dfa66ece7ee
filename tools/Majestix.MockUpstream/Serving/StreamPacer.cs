using System.Diagnostics;
using Majestix.MockUpstream.Behaviour;

namespace Majestix.MockUpstream.Serving;

// Applies ttft_ms / tokens_per_second and cut_after_tokens to a stream. Token i is due at
// (first token time + i / tokens_per_second) on a monotonic clock, so delays do not drift.
internal sealed class StreamPacer(ResolvedBehaviour behaviour, SseWriter sse, CancellationToken cancellationToken)
{
    private const int UnpacedFlushEvery = 64;

    private long _firstTokenDue;
    private int _sinceFlush;

    public int Emitted { get; private set; }

    /// <summary>A stream with cut_after_tokens never sends its closing events, even when every token fitted.</summary>
    public bool CutBeforeEnd => behaviour.CutAfterTokens is not null;

    /// <summary>Call once the response headers and opening events are written.</summary>
    public void Start() =>
        _firstTokenDue = Stopwatch.GetTimestamp() + (long)(behaviour.TtftMs * (Stopwatch.Frequency / 1000.0));

    /// <summary>Returns false when emitting <paramref name="tokens"/> more would pass the cut point.</summary>
    public async ValueTask<bool> NextAsync(int tokens)
    {
        if (behaviour.CutAfterTokens is { } cut && Emitted + tokens > cut)
        {
            return false;
        }
        if (behaviour.IsPaced)
        {
            await sse.FlushAsync(cancellationToken);
            var due = _firstTokenDue;
            if (behaviour.TokensPerSecond > 0)
            {
                due += (long)(Emitted / behaviour.TokensPerSecond * Stopwatch.Frequency);
            }
            await Pause.UntilAsync(due, cancellationToken);
        }
        else if (++_sinceFlush >= UnpacedFlushEvery)
        {
            _sinceFlush = 0;
            await sse.FlushAsync(cancellationToken);
        }
        Emitted += tokens;
        return true;
    }
}
