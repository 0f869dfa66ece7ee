using System.Globalization;
using StackExchange.Redis;

namespace Majestix.Bench;

/// <summary>
/// Commands Redis executed, from <c>INFO commandstats</c>. Only inference-api talks to this Redis,
/// so the delta over a run divided by its requests is the commands per request (each one at most a
/// round trip; pipelined commands share one).
/// </summary>
internal sealed class RedisCommandStats(IConnectionMultiplexer redis)
{
    public async Task<IReadOnlyDictionary<string, long>> ReadAsync()
    {
        var server = redis.GetServers()[0];
        var info = await server.InfoAsync("commandstats");
        var calls = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var pair in info.SelectMany(group => group))
        {
            // cmdstat_evalsha: calls=123,usec=...
            var command = pair.Key.Replace("cmdstat_", "", StringComparison.Ordinal);
            var count = pair.Value.Split(',').First(part => part.StartsWith("calls=", StringComparison.Ordinal))["calls=".Length..];
            calls[command] = long.Parse(count, CultureInfo.InvariantCulture);
        }
        return calls;
    }

    /// <summary>Per-command calls between two readings, without the INFO calls the benchmark itself made.</summary>
    public static Dictionary<string, long> Delta(IReadOnlyDictionary<string, long> before, IReadOnlyDictionary<string, long> after) =>
        after.Where(pair => pair.Key is not ("info" or "cluster|info" or "config|get" or "echo" or "client|setname" or "subscribe" or "ping"))
            .Select(pair => (pair.Key, Calls: pair.Value - before.GetValueOrDefault(pair.Key)))
            .Where(pair => pair.Calls > 0)
            .ToDictionary(pair => pair.Key, pair => pair.Calls, StringComparer.Ordinal);
}
