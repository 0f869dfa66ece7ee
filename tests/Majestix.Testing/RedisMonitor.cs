using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;

namespace Majestix.Testing;

/// <summary>
/// Counts the commands clients send to Redis, from <c>MONITOR</c>. Unlike <c>INFO commandstats</c>,
/// MONITOR tells a client's command (<c>[0 127.0.0.1:port]</c>) from one a script ran inside Redis
/// (<c>[0 lua]</c>), so it counts what crossed the network. It slows Redis down, so it only watches
/// a short sequential sample, never a timed run. With a filter, only lines containing it count
/// (a test's key prefix picks out that test's commands on a shared server).
/// </summary>
public sealed class RedisMonitor : IAsyncDisposable
{
    // Connection upkeep, and what the benchmark itself asks.
    private static readonly HashSet<string> Ignored = new(StringComparer.OrdinalIgnoreCase) { "ping", "echo", "info", "client", "cluster", "config", "subscribe", "hello", "auth", "select" };
    private readonly TcpClient _client;
    private readonly Task _reading;
    private readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.OrdinalIgnoreCase);

    private readonly string? _filter;

    private RedisMonitor(TcpClient client, StreamReader reader, string? filter)
    {
        _client = client;
        _filter = filter;
        _reading = Task.Run(async () =>
        {
            try
            {
                while (await reader.ReadLineAsync() is { } line)
                {
                    Count(line);
                }
            }
            catch (IOException)
            {
                // Closed by DisposeAsync.
            }
            catch (ObjectDisposedException)
            {
            }
        });
    }

    /// <summary>Connects and starts MONITOR; only lines containing <paramref name="filter"/> count when it is given.</summary>
    public static async Task<RedisMonitor> StartAsync(int port, string? filter = null)
    {
        var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port);
        var stream = client.GetStream();
        await stream.WriteAsync("MONITOR\r\n"u8.ToArray());
        var reader = new StreamReader(stream, Encoding.UTF8);
        if (await reader.ReadLineAsync() != "+OK")
        {
            client.Dispose();
            throw new InvalidOperationException("Redis refused MONITOR.");
        }
        return new RedisMonitor(client, reader, filter);
    }

    /// <summary>Client commands seen so far, by name.</summary>
    public IReadOnlyDictionary<string, int> Snapshot() => new Dictionary<string, int>(_counts, StringComparer.OrdinalIgnoreCase);

    // +1764171234.123456 [0 127.0.0.1:51234] "evalsha" "..." ...
    private void Count(string line)
    {
        var open = line.IndexOf('[', StringComparison.Ordinal);
        var close = line.IndexOf(']', StringComparison.Ordinal);
        if ((_filter is not null && !line.Contains(_filter, StringComparison.Ordinal)) || open < 0 || close < open || line.AsSpan(open, close - open).EndsWith(" lua", StringComparison.Ordinal))
        {
            return;
        }
        var start = line.IndexOf('"', close);
        var end = start < 0 ? -1 : line.IndexOf('"', start + 1);
        if (end < 0)
        {
            return;
        }
        var command = line[(start + 1)..end].ToLowerInvariant();
        if (!Ignored.Contains(command))
        {
            _counts.AddOrUpdate(command, 1, (_, n) => n + 1);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _reading;
    }
}
