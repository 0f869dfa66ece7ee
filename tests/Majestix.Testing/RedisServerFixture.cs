using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Majestix.Testing;

/// <summary>
/// A real <c>redis-server</c> from PATH on a free loopback port, without persistence. Share it per
/// test collection and isolate tests by key prefix (<see cref="TestIsolation.NewKeyPrefix"/>).
/// <see cref="Stop"/> and <see cref="StartAsync"/> simulate an outage on the same port.
/// </summary>
public sealed class RedisServerFixture : IAsyncLifetime
{
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(20);
    private ExternalProcess? _process;

    /// <summary>The executable started; override with <c>REDIS_SERVER_PATH</c>.</summary>
    public static string ExecutablePath => Environment.GetEnvironmentVariable("REDIS_SERVER_PATH") is { Length: > 0 } path ? path : "redis-server";

    /// <summary>The loopback port; stays the same across <see cref="Stop"/>/<see cref="StartAsync"/>.</summary>
    public int Port { get; private set; }

    /// <summary>A StackExchange.Redis connection string for the server.</summary>
    public string ConnectionString => $"127.0.0.1:{Port}";

    /// <summary>The running server's process.</summary>
    public ExternalProcess Process => _process ?? throw new InvalidOperationException("The server has not been started.");

    /// <summary>Whether the server is running.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <inheritdoc />
    public Task InitializeAsync()
    {
        Port = FreePort.Next();
        return StartAsync();
    }

    /// <summary>Starts the server (again) on <see cref="Port"/> and waits until it answers PING.</summary>
    public async Task StartAsync()
    {
        if (IsRunning)
        {
            return;
        }

        _process?.Dispose();
        _process = ExternalProcess.Start(
            ExecutablePath,
            ["--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            "redis-server");
        await _process.WaitUntilReadyAsync(PingAsync, StartupTimeout).ConfigureAwait(false);
    }

    /// <summary>Kills the server; connections are refused until <see cref="StartAsync"/>. Data is lost.</summary>
    public void Stop()
    {
        _process?.Dispose();
        _process = null;
    }

    /// <summary>Sends PING over a raw socket; true when the server answers PONG.</summary>
    public async Task<bool> PingAsync(CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, Port, cancellationToken).ConfigureAwait(false);
        var stream = client.GetStream();
        await stream.WriteAsync("PING\r\n"u8.ToArray(), cancellationToken).ConfigureAwait(false);
        var buffer = new byte[64];
        var read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
    }

    /// <inheritdoc />
    public Task DisposeAsync()
    {
        Stop();
        return Task.CompletedTask;
    }
}
