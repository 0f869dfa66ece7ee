using System.Globalization;

namespace Majestix.Bench;

/// <summary>What one benchmark run measures and where the processes under test come from.</summary>
internal sealed record BenchSettings
{
    public required string RepoRoot { get; init; }
    public required string ApiDll { get; init; }
    public required string MockDll { get; init; }
    public required string IdentityDll { get; init; }
    public required string PortkeyDirectory { get; init; }
    public required string OutputMarkdown { get; init; }
    public IReadOnlyList<int> Concurrency { get; init; } = [1, 16, 64];
    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Load at 16 connections each target takes once, before the warm-up passes over every cell's shape.</summary>
    public TimeSpan InitialWarmup { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Seconds of each cell's shape per warm-up pass, after the initial warm-up.</summary>
    public TimeSpan ShapeWarmup { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Most passes over every cell's shape before measuring, even if inference-api's JIT is still busy.</summary>
    public int WarmupPassLimit { get; init; } = 4;
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(10);
    public int FirstByteSamples { get; init; } = 300;

    /// <summary>CPU for the gateway under test; everything else (load generator, mock, Redis, emulators) runs on the others.</summary>
    public int GatewayCpu { get; init; }

    /// <summary>Per-user and per-address requests per minute for inference-api: high enough never to refuse, so every request runs the limiter and passes.</summary>
    public int PerMinuteLimit { get; init; } = 1_000_000;

    /// <summary>Start the stack, print how to reach each target, and wait for Ctrl-C instead of measuring (for profiling).</summary>
    public bool ServeOnly { get; init; }

    /// <summary>A name for the build under test in the report ("baseline", "optimised").</summary>
    public string Label { get; init; } = "current";

    public static BenchSettings Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"Expected --name value pairs; got '{args[i]}'. See bench/README.md.");
            }
            values[args[i][2..]] = args[++i];
        }
        var root = Path.GetFullPath(Get("repo", Directory.GetCurrentDirectory()));
        string Get(string name, string fallback) => values.TryGetValue(name, out var value) ? value : fallback;
        string Release(string project, string assembly) => Path.Combine(root, project, "bin", "Release", "net10.0", assembly + ".dll");
        var settings = new BenchSettings
        {
            RepoRoot = root,
            ApiDll = Path.GetFullPath(Get("api-dll", Release("app", "Majestix.InferenceApi"))),
            MockDll = Path.GetFullPath(Get("mock-dll", Release("tools/Majestix.MockUpstream", "Majestix.MockUpstream"))),
            IdentityDll = Path.GetFullPath(Get("identity-dll", Release("tools/Majestix.DevIdentity", "Majestix.DevIdentity"))),
            PortkeyDirectory = Path.GetFullPath(Get("portkey", Path.Combine(root, "bench", "portkey"))),
            OutputMarkdown = Path.GetFullPath(Get("out", Path.Combine(root, "bench", "results", "latest.md"))),
            Concurrency = [.. Get("concurrency", "1,16,64").Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture))],
            Warmup = TimeSpan.FromSeconds(double.Parse(Get("warmup", "3"), CultureInfo.InvariantCulture)),
            InitialWarmup = TimeSpan.FromSeconds(double.Parse(Get("initial-warmup", "10"), CultureInfo.InvariantCulture)),
            ShapeWarmup = TimeSpan.FromSeconds(double.Parse(Get("shape-warmup", "2"), CultureInfo.InvariantCulture)),
            WarmupPassLimit = int.Parse(Get("warmup-passes", "4"), CultureInfo.InvariantCulture),
            Duration = TimeSpan.FromSeconds(double.Parse(Get("duration", "10"), CultureInfo.InvariantCulture)),
            FirstByteSamples = int.Parse(Get("first-byte-samples", "300"), CultureInfo.InvariantCulture),
            GatewayCpu = int.Parse(Get("gateway-cpu", "0"), CultureInfo.InvariantCulture),
            Label = Get("label", "current"),
            ServeOnly = Get("serve-only", "false") == "true",
            PerMinuteLimit = int.Parse(Get("per-minute-limit", "1000000"), CultureInfo.InvariantCulture),
        };
        foreach (var (name, path) in new[] { ("api-dll", settings.ApiDll), ("mock-dll", settings.MockDll), ("identity-dll", settings.IdentityDll) })
        {
            if (!File.Exists(path))
            {
                throw new ArgumentException($"--{name}: {path} does not exist; build Release first (make bench does).");
            }
        }
        if (settings.Concurrency.Any(c => c < 1) || settings.Duration <= TimeSpan.Zero || settings.FirstByteSamples < 10
            || settings.ShapeWarmup <= TimeSpan.Zero || settings.WarmupPassLimit < 2)
        {
            throw new ArgumentException("Concurrency levels must be ≥ 1, the duration and shape warm-up positive, at least two warm-up passes and at least 10 first-byte samples.");
        }
        return settings;
    }
}
