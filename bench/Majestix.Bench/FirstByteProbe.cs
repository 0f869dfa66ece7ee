using System.Diagnostics;

namespace Majestix.Bench;

/// <summary>Time from sending a streaming request to its first SSE <c>data:</c> line, and to the end of the stream.</summary>
internal sealed record StreamTiming(double FirstDataMilliseconds, double CompleteMilliseconds);

/// <summary>First-byte timings of one target in the two regimes the probe runs.</summary>
internal sealed record FirstByteTimings(List<StreamTiming> BackToBack, List<StreamTiming> AfterIdle);

/// <summary>
/// Sequential streaming requests, one at a time; the first byte of a stream is what a chat UI waits on,
/// and wrk cannot see it. Two regimes: back to back (each target takes blocks of streams in a row, as
/// wrk's c=1 runs do, blocks rotated between targets so drift hits them all), and after idle (one
/// request per target in turn, so each arrives at a gateway that sat idle while the others answered:
/// about 30 ms for inference-api, Portkey's stream being the slow one).
/// </summary>
internal sealed class FirstByteProbe : IDisposable
{
    private const int BlockSize = 50;
    private static readonly byte[] DataPrefix = "data:"u8.ToArray();
    private readonly HttpClient _http = new(new SocketsHttpHandler { PooledConnectionLifetime = Timeout.InfiniteTimeSpan }) { Timeout = TimeSpan.FromSeconds(30) };

    public async Task<Dictionary<Target, FirstByteTimings>> MeasureAsync(IReadOnlyList<Target> targets, int samplesPerTarget)
    {
        var timings = targets.ToDictionary(t => t, _ => new FirstByteTimings([], []));
        // Warm the connections and JIT paths first; those samples are not kept.
        for (var i = 0; i < 20 * targets.Count; i++)
        {
            await TimeOneAsync(targets[i % targets.Count]);
        }
        for (var block = 0; block * BlockSize < samplesPerTarget; block++)
        {
            foreach (var target in targets.Rotated(block))
            {
                for (var i = 0; i < Math.Min(BlockSize, samplesPerTarget - block * BlockSize); i++)
                {
                    timings[target].BackToBack.Add(await TimeOneAsync(target));
                }
            }
        }
        for (var i = 0; i < samplesPerTarget * targets.Count; i++)
        {
            var target = targets[i % targets.Count];
            timings[target].AfterIdle.Add(await TimeOneAsync(target));
        }
        return timings;
    }

    private async Task<StreamTiming> TimeOneAsync(Target target)
    {
        using var request = target.NewRequest(stream: true);
        var clock = Stopwatch.StartNew();
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{target.Name} answered {(int)response.StatusCode} to a streaming request: {await response.Content.ReadAsStringAsync()}");
        }
        await using var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[16 * 1024];
        var seen = new List<byte>();
        double? firstData = null;
        int read;
        while ((read = await body.ReadAsync(buffer)) > 0)
        {
            if (firstData is null)
            {
                seen.AddRange(buffer.AsSpan(0, read));
                if (seen.ToArray().AsSpan().IndexOf(DataPrefix) >= 0)
                {
                    firstData = clock.Elapsed.TotalMilliseconds;
                }
            }
        }
        var complete = clock.Elapsed.TotalMilliseconds;
        return new StreamTiming(firstData ?? throw new InvalidOperationException($"{target.Name} sent a stream without a data line."), complete);
    }

    public void Dispose() => _http.Dispose();
}
