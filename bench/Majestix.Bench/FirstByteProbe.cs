using System.Diagnostics;

namespace Majestix.Bench;

/// <summary>Time from sending a streaming request to its first SSE <c>data:</c> line, and to the end of the stream.</summary>
internal sealed record StreamTiming(double FirstDataMilliseconds, double CompleteMilliseconds);

/// <summary>
/// Sequential streaming requests, one at a time, alternating between targets so drift hits them all
/// equally. The first byte of a stream is what a chat UI waits on; wrk cannot see it.
/// </summary>
internal sealed class FirstByteProbe : IDisposable
{
    private static readonly byte[] DataPrefix = "data:"u8.ToArray();
    private readonly HttpClient _http = new(new SocketsHttpHandler { PooledConnectionLifetime = Timeout.InfiniteTimeSpan }) { Timeout = TimeSpan.FromSeconds(30) };

    public async Task<Dictionary<Target, List<StreamTiming>>> MeasureAsync(IReadOnlyList<Target> targets, int samplesPerTarget)
    {
        var timings = targets.ToDictionary(t => t, _ => new List<StreamTiming>());
        // Warm the connections and JIT paths first; those samples are not kept.
        for (var i = 0; i < 20 * targets.Count; i++)
        {
            await TimeOneAsync(targets[i % targets.Count]);
        }
        for (var i = 0; i < samplesPerTarget * targets.Count; i++)
        {
            var target = targets[i % targets.Count];
            timings[target].Add(await TimeOneAsync(target));
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
