using Majestix.Testing;

namespace Majestix.Bench;

/// <summary>Redis commands inference-api sends per request, measured over sequential requests under MONITOR.</summary>
internal sealed record RoundTripSample(bool Stream, int Requests, IReadOnlyDictionary<string, int> Commands)
{
    public double PerRequest => Commands.Values.Sum() / (double)Requests;

    /// <summary>
    /// Scripts per request. inference-api awaits each of its scripts on the request path (gate, reserve,
    /// settle) and sends nothing else there; its other commands are background work confirming many
    /// requests at once (the ledger writer's ZREM/UNLINK, the reaper's scans).
    /// </summary>
    public double ScriptsPerRequest => (Commands.GetValueOrDefault("evalsha") + Commands.GetValueOrDefault("eval")) / (double)Requests;

    public static async Task<RoundTripSample> MeasureAsync(BenchStack stack, bool stream, int requests)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        await using var monitor = await RedisMonitor.StartAsync(stack.Redis.Port);
        for (var i = 0; i < requests; i++)
        {
            using var request = stack.Majestix.NewRequest(stream);
            using var response = await http.SendAsync(request);
            await response.Content.ReadAsStringAsync();
            response.EnsureSuccessStatusCode();
        }
        // Fire-and-forget commands leave after the response; give them a moment to arrive.
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        return new RoundTripSample(stream, requests, monitor.Snapshot());
    }
}
