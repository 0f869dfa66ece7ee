using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Majestix.AppHost.Tests;

/// <summary>
/// Boots the real AppHost (Redis, both emulators, mock upstream, Stripe stand-in, dev identity and the three services as
/// processes) on free ports, so it can run beside a developer's running `make dev`.
/// </summary>
public sealed class DevStackTopologyTests
{
    private static readonly string[] Services = ["inference-api", "agent-executor", "web-functions"];
    private static readonly TimeSpan StartupBudget = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task EveryServiceBecomesHealthyLogsCloudLoggingJsonAndTheDevEnvIsWritten()
    {
        using var timeout = new CancellationTokenSource(StartupBudget);
        var cancellationToken = timeout.Token;
        var stateDirectory = Directory.CreateTempSubdirectory("majestix-topology-").FullName;
        try
        {
            var ports = FreePorts(9);
            string[] args =
            [
                $"DevStack:InferenceApi={ports[0]}", $"DevStack:AgentExecutor={ports[1]}", $"DevStack:WebFunctions={ports[2]}",
                $"DevStack:MockUpstream={ports[3]}", $"DevStack:DevIdentity={ports[4]}", $"DevStack:Redis={ports[5]}",
                $"DevStack:Firestore={ports[6]}", $"DevStack:PubSub={ports[7]}", $"DevStack:StripeStandIn={ports[8]}",
                $"DevStack:StateDirectory={stateDirectory}",
            ];
            var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Majestix_AppHost>(
                args, (options, _) => options.DisableDashboard = true, cancellationToken);
            await using var app = await builder.BuildAsync(cancellationToken);
            using var stopWatching = new CancellationTokenSource();
            var states = WatchStates(app, stopWatching.Token);
            try
            {
                await StartAndCheckAsync(app, ports, stateDirectory, cancellationToken);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
                // A bare "task was canceled" says nothing of which process never came up.
                throw new TimeoutException($"The dev stack was not healthy within {StartupBudget.TotalMinutes} minutes. Last state of each resource: "
                    + string.Join("; ", states.OrderBy(s => s.Key).Select(s => $"{s.Key} {s.Value}")));
            }
            finally
            {
                await stopWatching.CancelAsync();
            }
        }
        finally
        {
            Directory.Delete(stateDirectory, recursive: true);
        }
    }

    private static async Task StartAndCheckAsync(DistributedApplication app, int[] ports, string stateDirectory, CancellationToken cancellationToken)
    {
        await app.StartAsync(cancellationToken);

        foreach (var service in Services)
        {
            await app.ResourceNotifications.WaitForResourceHealthyAsync(service, cancellationToken);
            using var client = app.CreateHttpClient(service);
            var response = await client.GetAsync(new Uri("/health", UriKind.Relative), cancellationToken);
            response.StatusCode.ShouldBe(HttpStatusCode.OK, $"{service} /health");
            await AssertLogsAreCloudLoggingJson(app, service, cancellationToken);
        }

        var env = ParseEnvFile(Path.Combine(stateDirectory, "env"));
        string[] required =
        [
            "API_URL", "EXECUTOR_URL", "FUNCTIONS_URL", "MOCK_UPSTREAM_URL", "REDIS_URL", "FIRESTORE_EMULATOR_HOST",
            "PUBSUB_EMULATOR_HOST", "PRO_USER_ID", "PRO_API_KEY", "PRO_ID_TOKEN", "PRO_APPCHECK_TOKEN",
            "FREE_USER_ID", "FREE_API_KEY", "FREE_ID_TOKEN", "FREE_APPCHECK_TOKEN", "ADMIN_ID_TOKEN", "STRIPE_URL",
        ];
        foreach (var name in required)
        {
            env.ShouldContainKey(name);
            env[name].ShouldNotBeNullOrWhiteSpace(name);
        }
        env["API_URL"].ShouldBe($"http://127.0.0.1:{ports[0]}");
        env["STRIPE_URL"].ShouldBe($"http://127.0.0.1:{ports[8]}");
        env["PRO_API_KEY"].ShouldStartWith("inf_");
        env["PRO_API_KEY"].ShouldNotBe(env["FREE_API_KEY"]);
        await AssertSeededIdentitiesWorkAsync(app, env, cancellationToken);
    }

    // The latest state and health of every resource, kept as Aspire reports them, for the timeout's message.
    private static ConcurrentDictionary<string, string> WatchStates(DistributedApplication app, CancellationToken cancellationToken)
    {
        var states = new ConcurrentDictionary<string, string>();
        _ = Task.Run(async () =>
        {
            try
            {
                await foreach (var change in app.ResourceNotifications.WatchAsync(cancellationToken))
                {
                    var health = change.Snapshot.HealthStatus is { } status ? $", {status}" : "";
                    states[change.Resource.Name] = $"({change.Snapshot.State?.Text ?? "no state"}{health})";
                }
            }
            catch (OperationCanceledException)
            {
            }
        }, CancellationToken.None);
        return states;
    }

    // The env file's credentials are the ones a developer pastes into curl: each must be accepted as who it claims.
    private static async Task AssertSeededIdentitiesWorkAsync(DistributedApplication app, Dictionary<string, string> env, CancellationToken cancellationToken)
    {
        using var api = app.CreateHttpClient("inference-api");
        async Task<JsonElement> MeAsync(params (string Header, string Value)[] headers)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/me");
            foreach (var (header, value) in headers)
            {
                request.Headers.TryAddWithoutValidation(header, value);
            }
            using var response = await api.SendAsync(request, cancellationToken);
            response.StatusCode.ShouldBe(HttpStatusCode.OK, string.Join(",", headers.Select(h => h.Header)));
            return JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken)).RootElement.Clone();
        }

        var pro = await MeAsync(("X-Api-Key", env["PRO_API_KEY"]));
        pro.GetProperty("user_id").GetString().ShouldBe(env["PRO_USER_ID"]);
        pro.GetProperty("plan").GetString().ShouldBe("pro");
        (await MeAsync(("X-Api-Key", env["FREE_API_KEY"]))).GetProperty("plan").GetString().ShouldBe("free");
        var web = await MeAsync(("Authorization", $"Bearer {env["FREE_ID_TOKEN"]}"), ("X-Firebase-AppCheck", env["FREE_APPCHECK_TOKEN"]));
        web.GetProperty("source").GetString().ShouldBe("web");
        web.GetProperty("user_id").GetString().ShouldBe(env["FREE_USER_ID"]);
        var admin = await MeAsync(("Authorization", $"Bearer {env["ADMIN_ID_TOKEN"]}"), ("X-Firebase-AppCheck", env["ADMIN_APPCHECK_TOKEN"]));
        admin.GetProperty("is_admin").GetBoolean().ShouldBeTrue();
    }

    // Watches the service's stdout, then makes it write a request log line, and checks that line.
    private static async Task AssertLogsAreCloudLoggingJson(DistributedApplication app, string service, CancellationToken cancellationToken)
    {
        var resource = app.Services.GetRequiredService<DistributedApplicationModel>().Resources.Single(r => r.Name == service);
        var logs = app.Services.GetRequiredService<ResourceLoggerService>();
        using var window = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        window.CancelAfter(TimeSpan.FromSeconds(60));

        var firstJsonLine = Task.Run(async () =>
        {
            await foreach (var batch in logs.WatchAsync(resource).WithCancellation(window.Token))
            {
                foreach (var line in batch.Where(l => !l.IsErrorMessage && l.Content.Contains('{', StringComparison.Ordinal)))
                {
                    return StripTimestamp(line.Content);
                }
            }
            return null;
        }, window.Token);

        using var client = app.CreateHttpClient(service);
        while (!firstJsonLine.IsCompleted)
        {
            await client.GetAsync(new Uri("/no-such-page", UriKind.Relative), window.Token);
            await Task.WhenAny(firstJsonLine, Task.Delay(500, window.Token));
        }

        var text = await firstJsonLine;
        text.ShouldNotBeNull($"{service} wrote no log line");
        using var parsed = JsonDocument.Parse(text);
        parsed.RootElement.GetProperty("severity").GetString().ShouldNotBeNullOrEmpty();
        parsed.RootElement.GetProperty("message").ValueKind.ShouldBe(JsonValueKind.String);
        parsed.RootElement.GetProperty("service").GetString().ShouldBe(service);
    }

    // Aspire may prefix each captured line with an ISO timestamp; the process wrote the rest.
    private static string StripTimestamp(string content)
    {
        var brace = content.IndexOf('{', StringComparison.Ordinal);
        return brace < 0 ? content : content[brace..];
    }

    private static Dictionary<string, string> ParseEnvFile(string path)
    {
        File.Exists(path).ShouldBeTrue($"{path} was not written");
        var values = new Dictionary<string, string>();
        foreach (var line in File.ReadAllLines(path))
        {
            if (line.StartsWith("export ", StringComparison.Ordinal) && line.IndexOf('=', StringComparison.Ordinal) is var equals and > 0)
            {
                values[line[7..equals]] = line[(equals + 1)..].Trim('\'');
            }
        }
        return values;
    }

    private static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ =>
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return listener;
        }).ToList();
        var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        listeners.ForEach(l => l.Stop());
        return ports;
    }
}
