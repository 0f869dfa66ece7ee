using System.Net.Sockets;
using Majestix.Testing;
using StackExchange.Redis;

namespace Majestix.GoogleCloud.Tests;

[Collection(RedisCollection.Name)]
public sealed class RedisServerFixtureTests(RedisServerFixture redis)
{
    [Fact]
    public async Task StopRefusesConnectionsAndStartServesAgain()
    {
        var key = TestIsolation.NewKeyPrefix() + "greeting";
        await using (var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString))
        {
            var database = connection.GetDatabase();
            (await database.PingAsync()).ShouldBeLessThan(TimeSpan.FromSeconds(5));
            await database.StringSetAsync(key, "hello");
            (await database.StringGetAsync(key)).ToString().ShouldBe("hello");
        }

        redis.Stop();

        redis.IsRunning.ShouldBeFalse();
        var refused = await Should.ThrowAsync<SocketException>(() => redis.PingAsync(CancellationToken.None));
        refused.SocketErrorCode.ShouldBe(SocketError.ConnectionRefused);

        await redis.StartAsync();

        (await redis.PingAsync(CancellationToken.None)).ShouldBeTrue();
        await using var reconnected = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        // No persistence: the restarted server starts empty.
        (await reconnected.GetDatabase().StringGetAsync(key)).IsNull.ShouldBeTrue();
    }
}

public sealed class EmulatorFixtureTests
{
    [Fact]
    public async Task DisposingTheFirestoreEmulatorLeavesNoJavaProcessBehind()
    {
        var fixture = new FirestoreEmulatorFixture();
        await fixture.InitializeAsync();
        var portArgument = $"--port={fixture.Port}";
        ProcessesWithArgument(portArgument).ShouldContain(pid => IsJava(pid), "the emulator's java process should be running");

        await fixture.DisposeAsync();

        ProcessesWithArgument(portArgument).ShouldBeEmpty();
    }

    private static bool IsJava(int pid) =>
        File.Exists($"/proc/{pid}/exe") && Path.GetFileName(new FileInfo($"/proc/{pid}/exe").LinkTarget ?? string.Empty) == "java";

    private static List<int> ProcessesWithArgument(string argument)
    {
        var matches = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
            {
                continue;
            }

            try
            {
                if (File.ReadAllText(Path.Combine(directory, "cmdline")).Split('\0').Contains(argument))
                {
                    matches.Add(pid);
                }
            }
            catch (IOException)
            {
                // The process ended while being inspected.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return matches;
    }
}
