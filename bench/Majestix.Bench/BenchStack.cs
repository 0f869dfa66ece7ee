using System.Globalization;
using System.Net.Http.Json;
using Majestix.Testing;

namespace Majestix.Bench;

/// <summary>
/// Everything the three targets need, started as real processes: Redis, the Firestore and Pub/Sub
/// emulators, the mock upstream, the dev identity (seeds the Pro user and its key), inference-api in
/// Release, and the Portkey gateway. The two gateways are pinned to their own CPU.
/// </summary>
internal sealed class BenchStack : IAsyncDisposable
{
    public const string ProjectId = "majestix-bench";
    private const string Model = "gpt-5-mini";
    private const string MajestixAccount = "inference-api";
    private const string PortkeyAccount = "Portkey";
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(90);

    private readonly List<IAsyncDisposable> _fixtures = [];
    private readonly List<ExternalProcess> _processes = [];
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private int _disposed;

    private BenchStack(BenchSettings settings, RedisServerFixture redis, string stateDirectory)
    {
        Settings = settings;
        Redis = redis;
        StateDirectory = stateDirectory;
    }

    public BenchSettings Settings { get; }
    public string StateDirectory { get; }
    public RedisServerFixture Redis { get; }
    public required Target Direct { get; init; }
    public required Target Portkey { get; init; }
    public required Target Majestix { get; init; }
    public required ExternalProcess MajestixProcess { get; init; }
    public required string ProUserId { get; init; }
    public required string PubSubHost { get; init; }
    public required ExternalProcess PortkeyProcess { get; init; }
    public required MachineCpu Cpu { get; init; }

    public IReadOnlyList<Target> Targets => [Direct, Portkey, Majestix];

    /// <summary>CPU seconds both gateways have used so far: they share one core, so either one's leftover work loads the other's run.</summary>
    public double GatewayCpuSeconds() => Cpu.SecondsOf(MajestixAccount, PortkeyAccount);

    /// <summary>The request every target gets, byte for byte; the mock answers 16 words (16 o200k tokens).</summary>
    public static string Body(bool stream) =>
        "{\"model\":\"" + Model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Say hello to the benchmark in a short sentence.\"}],\"max_tokens\":64"
        + (stream ? ",\"stream\":true,\"stream_options\":{\"include_usage\":true}}" : "}");

    public static async Task<BenchStack> StartAsync(BenchSettings settings)
    {
        var redis = new RedisServerFixture();
        // Firestore stands in for a managed service on Google's machines: lowest priority, so its large CPU
        // cost per write does not slow the mock and Redis; ledger writes it cannot take wait durably in
        // Redis. Pub/Sub keeps normal priority: at the lowest it fell tens of thousands of usage events
        // behind, which then waited in inference-api's memory and loaded the runs after.
        var firestore = new FirestoreEmulatorFixture { LowestPriority = true };
        var pubsub = new PubSubEmulatorFixture();
        var started = new List<IDisposable>();
        try
        {
            return await StartAsync(settings, redis, firestore, pubsub, started);
        }
        catch
        {
            // Nothing the benchmark started may outlive it, least of all after a failed start.
            foreach (var process in Enumerable.Reverse(started))
            {
                process.Dispose();
            }
            await Task.WhenAll(redis.DisposeAsync(), firestore.DisposeAsync(), pubsub.DisposeAsync());
            throw;
        }
    }

    private static async Task<BenchStack> StartAsync(BenchSettings settings, RedisServerFixture redis, FirestoreEmulatorFixture firestore,
        PubSubEmulatorFixture pubsub, List<IDisposable> started)
    {
        Log("starting Redis and the Firestore and Pub/Sub emulators");
        await Task.WhenAll(redis.InitializeAsync(), firestore.InitializeAsync(), pubsub.InitializeAsync());

        var mockPort = FreePort.Next();
        var identityPort = FreePort.Next();
        var apiPort = FreePort.Next();
        var portkeyPort = FreePort.Next();
        string Local(int port) => $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}";
        var emulators = new Dictionary<string, string>
        {
            ["GOOGLE_CLOUD_PROJECT"] = ProjectId,
            ["FIRESTORE_EMULATOR_HOST"] = firestore.EmulatorHost,
            ["PUBSUB_EMULATOR_HOST"] = pubsub.EmulatorHost,
            ["DOTNET_ENVIRONMENT"] = "Production",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
        };
        var state = Directory.CreateTempSubdirectory("majestix-bench-state-").FullName;

        Log("starting the mock upstream and the dev identity");
        var mock = ExternalProcess.Start("dotnet", [settings.MockDll, "--urls", Local(mockPort), .. ContentRoot(settings.MockDll)], "mock-upstream", emulators);
        started.Add(mock);
        var identity = ExternalProcess.Start("dotnet", [settings.IdentityDll, "--urls", Local(identityPort), .. ContentRoot(settings.IdentityDll)], "dev-identity",
            new Dictionary<string, string>(emulators)
            {
                ["DevIdentity__StateDirectory"] = state,
                ["DevIdentity__FirebaseProjectId"] = ProjectId,
            });
        started.Add(identity);
        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await Task.WhenAll(
            mock.WaitUntilReadyAsync(ct => IsHealthyAsync(probe, Local(mockPort), ct), StartupTimeout),
            identity.WaitUntilReadyAsync(ct => IsHealthyAsync(probe, Local(identityPort), ct), StartupTimeout));
        var seeded = ReadEnvFile(Path.Combine(state, "env"));

        Log("starting inference-api and the Portkey gateway, each pinned to CPU " + settings.GatewayCpu.ToString(CultureInfo.InvariantCulture));
        // Its request log goes to a file, not through a pipe this process reads on the load generator's core.
        var api = ExternalProcess.StartWritingOutputTo(Path.Combine(state, "inference-api.log"), "taskset", ["-c", settings.GatewayCpu.ToString(CultureInfo.InvariantCulture), "dotnet", settings.ApiDll, "--urls", Local(apiPort), .. ContentRoot(settings.ApiDll)],
            "inference-api", new Dictionary<string, string>(emulators)
            {
                ["ConnectionStrings__redis"] = redis.ConnectionString,
                ["REDIS_FAILURE_POLICY"] = "reject",
                ["FERNET_KEYS"] = "bWFqZXN0aXgtZGV2LW9ubHktZmVybmV0LWtleSEhISE=",
                ["Identity__FirebaseProjectId"] = ProjectId,
                ["Identity__FirebaseProjectNumber"] = "100000000001",
                ["Identity__FirebaseKeysUrl"] = $"{Local(identityPort)}/keys/firebase",
                ["Identity__AppCheckKeysUrl"] = $"{Local(identityPort)}/keys/appcheck",
                ["Identity__GoogleKeysUrl"] = $"{Local(identityPort)}/keys/google",
                ["OIDC_AUDIENCE"] = Local(apiPort),
                ["OIDC_ALLOWED_SERVICE_ACCOUNTS"] = "agent-executor@majestix-bench.iam.gserviceaccount.com",
                ["AUDIT_IP_HASH_SALT"] = "majestix-bench-ip-salt",
                // No request here reaches billing; the service only needs a valid configuration to start.
                ["STRIPE_API_BASE"] = "http://127.0.0.1:9",
                ["STRIPE_SECRET_KEY"] = "sk_test_bench",
                ["STRIPE_WEBHOOK_SECRET"] = "whsec_bench",
                ["STRIPE_GURU_PRICE_ID"] = "price_benchGuru",
                ["STRIPE_PRO_PRICE_ID"] = "price_benchPro",
                ["STRIPE_TOPUP_5_PRICE_ID"] = "price_benchTopup5",
                ["STRIPE_TOPUP_25_PRICE_ID"] = "price_benchTopup25",
                ["STRIPE_TOPUP_100_PRICE_ID"] = "price_benchTopup100",
                ["Providers__OpenAI__BaseUrl"] = $"{Local(mockPort)}/v1",
                ["Providers__OpenAI__ApiKey"] = "sk-bench-openai",
                ["Providers__OpenRouter__BaseUrl"] = $"{Local(mockPort)}/api/v1",
                ["Providers__OpenRouter__ApiKey"] = "sk-bench-openrouter",
                ["Providers__Anthropic__BaseUrl"] = Local(mockPort),
                ["Providers__Anthropic__ApiKey"] = "sk-bench-anthropic",
                ["Providers__Vertex__BaseUrl"] = Local(mockPort),
                ["Providers__Vertex__StaticAccessToken"] = "ya29.bench-token",
                // High enough never to trigger, so every request runs the limiter and is admitted.
                ["RateLimits__ProPerMinute"] = settings.PerMinuteLimit.ToString(CultureInfo.InvariantCulture),
                ["RateLimits__PerIpPerMinute"] = settings.PerMinuteLimit.ToString(CultureInfo.InvariantCulture),
            });
        started.Add(api);
        var portkey = ExternalProcess.Start("taskset",
            ["-c", settings.GatewayCpu.ToString(CultureInfo.InvariantCulture), Path.Combine(settings.PortkeyDirectory, "start.sh"), portkeyPort.ToString(CultureInfo.InvariantCulture)],
            "portkey-gateway");
        started.Add(portkey);
        await Task.WhenAll(
            api.WaitUntilReadyAsync(ct => IsHealthyAsync(probe, Local(apiPort), ct), StartupTimeout),
            portkey.WaitUntilReadyAsync(async ct => { using var _ = await probe.GetAsync(new Uri(Local(portkeyPort) + "/"), ct); return true; }, StartupTimeout));

        var stack = new BenchStack(settings, redis, state)
        {
            Direct = new Target("direct", "mock upstream, no gateway", $"{Local(mockPort)}/v1/chat/completions", ["Authorization: Bearer sk-bench-openai"]),
            Portkey = new Target("portkey", "Portkey gateway 1.15.2 (Node), custom host → mock", $"{Local(portkeyPort)}/v1/chat/completions",
                ["Authorization: Bearer sk-bench-openai", "x-portkey-provider: openai", $"x-portkey-custom-host: {Local(mockPort)}/v1"], PortkeyAccount),
            Majestix = new Target("majestix", "inference-api: API key, rate limits, credit reserve/settle, usage events", $"{Local(apiPort)}/v1/chat/completions",
                [$"Authorization: Bearer {seeded["PRO_API_KEY"]}"], MajestixAccount),
            MajestixProcess = api,
            ProUserId = seeded["PRO_USER_ID"],
            PubSubHost = pubsub.EmulatorHost,
            PortkeyProcess = portkey,
            Cpu = new MachineCpu([(MajestixAccount, api), (PortkeyAccount, portkey), ("Redis", redis.Process), ("mock upstream", mock),
                ("Pub/Sub emulator", pubsub.Process), ("Firestore emulator", firestore.Process)]),
        };
        stack._fixtures.AddRange([new FixtureHandle(redis), new FixtureHandle(firestore), new FixtureHandle(pubsub)]);
        stack._processes.AddRange([portkey, api, identity, mock]);
        started.Clear();
        try
        {
            await stack.GrantBenchCreditsAsync(Local(apiPort), seeded);
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }
        return stack;
    }

    // The seeded Pro allocation would run out over a few hundred thousand requests: an admin grant tops it up, through the API.
    private async Task GrantBenchCreditsAsync(string apiUrl, Dictionary<string, string> seeded)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{apiUrl}/admin/credits/grant")
        {
            Content = JsonContent.Create(new Dictionary<string, object> { ["user_id"] = seeded["PRO_USER_ID"], ["credits"] = 1_000_000, ["reason"] = "benchmark" }),
        };
        request.Headers.Authorization = new("Bearer", seeded["ADMIN_ID_TOKEN"]);
        request.Headers.Add("X-Firebase-AppCheck", seeded["ADMIN_APPCHECK_TOKEN"]);
        request.Headers.Add("Idempotency-Key", "bench-topup");
        using var response = await _http.SendAsync(request);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"Granting benchmark credits failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>Prints each target with its headers and the gateways' pids, then waits for Ctrl-C.</summary>
    public async Task ServeUntilStoppedAsync()
    {
        foreach (var target in Targets)
        {
            Console.WriteLine($"{target.Name}: POST {target.Url}");
            foreach (var header in target.Headers)
            {
                Console.WriteLine($"  {header}");
            }
        }
        Console.WriteLine($"inference-api pid {MajestixProcess.Id}, portkey pid {PortkeyProcess.Id}; request bodies: BenchStack.Body. Ctrl-C or SIGTERM stops everything.");
        var stopped = new TaskCompletionSource();
        using var onInterrupt = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, context =>
        {
            context.Cancel = true;
            stopped.TrySetResult();
        });
        await stopped.Task;
    }

    public static void Log(string message) => Console.Error.WriteLine($"[bench {DateTime.UtcNow:HH:mm:ss}] {message}");

    // The host reads appsettings.json from its content root, which defaults to the working directory:
    // without this the services would run on their code defaults, not on the settings they ship with.
    private static string[] ContentRoot(string dll) => ["--contentRoot", Path.GetDirectoryName(dll)!];

    private static async Task<bool> IsHealthyAsync(HttpClient client, string baseUrl, CancellationToken cancellationToken)
    {
        using var response = await client.GetAsync(new Uri(baseUrl + "/health"), cancellationToken);
        return response.IsSuccessStatusCode;
    }

    private static Dictionary<string, string> ReadEnvFile(string path) =>
        File.ReadAllLines(path)
            .Where(line => line.StartsWith("export ", StringComparison.Ordinal))
            .Select(line => line["export ".Length..].Split('=', 2))
            .ToDictionary(parts => parts[0], parts => parts[1].Trim('\''), StringComparer.Ordinal);

    /// <summary>For Ctrl-C and SIGTERM: stops every process at once, without waiting for the benchmark to unwind.</summary>
    public void Abort() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        foreach (var process in _processes)
        {
            process.Dispose();
        }
        foreach (var fixture in _fixtures)
        {
            await fixture.DisposeAsync();
        }
        _http.Dispose();
        Directory.Delete(StateDirectory, recursive: true);
    }

    private sealed class FixtureHandle(Xunit.IAsyncLifetime fixture) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await fixture.DisposeAsync();
    }
}

/// <summary>One way to reach the mock upstream: its URL and the headers it needs.</summary>
/// <summary>A target of the runs; <paramref name="CpuAccount"/> names the gateway's process in <see cref="MachineCpu"/> (none for the direct target).</summary>
internal sealed record Target(string Name, string Description, string Url, IReadOnlyList<string> Headers, string? CpuAccount = null)
{
    public HttpRequestMessage NewRequest(bool stream)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, Url)
        {
            Content = new StringContent(BenchStack.Body(stream), System.Text.Encoding.UTF8, new System.Net.Http.Headers.MediaTypeHeaderValue("application/json")),
        };
        foreach (var header in Headers)
        {
            var split = header.IndexOf(':', StringComparison.Ordinal);
            request.Headers.TryAddWithoutValidation(header[..split], header[(split + 1)..].Trim());
        }
        return request;
    }
}

internal static class TargetOrder
{
    /// <summary>The targets starting from the <paramref name="turn"/>-th (modulo their count), so each takes its turn first.</summary>
    public static IEnumerable<Target> Rotated(this IReadOnlyList<Target> targets, int turn) =>
        targets.Skip(turn % targets.Count).Concat(targets.Take(turn % targets.Count));
}
