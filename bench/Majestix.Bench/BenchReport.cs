using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Majestix.Bench;

/// <summary>The tables, the ratios against Portkey, the issue's targets, and what the numbers are not.</summary>
internal sealed class BenchReport(
    BenchSettings settings,
    BenchStack stack,
    LoadRunSet runs,
    IReadOnlyList<RoundTripSample> roundTrips,
    Dictionary<Target, FirstByteTimings> firstBytes,
    HopFloorResult hopFloor,
    BillingCheck billing,
    BackgroundWorkResult background,
    double PeakRssMegabytes,
    double PortkeyPeakRssMegabytes)
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public async Task WriteAsync()
    {
        var markdown = Render();
        Console.WriteLine(markdown);
        Directory.CreateDirectory(Path.GetDirectoryName(settings.OutputMarkdown)!);
        await File.WriteAllTextAsync(settings.OutputMarkdown, markdown);
        await File.WriteAllTextAsync(ChartPath, LatencyChart.Render(runs, stack.Targets, settings.Concurrency, $"Latency through each target ({settings.Label})"));
        BenchStack.Log($"wrote {settings.OutputMarkdown} and {ChartPath}");
    }

    private static string CoresBusy(LoadRun run) => string.Join(" / ", run.Machine.CoreBusy.Select(b => (b * 100).ToString("F0", Invariant)));

    private void WhereTheCpuGoes(StringBuilder md, int highest)
    {
        md.AppendLine("## Where the CPU goes (majestix runs)").AppendLine();
        md.AppendLine("CPU milliseconds per request each process of the stack used during inference-api's timed runs (children included: the emulators are java under a script); \"the rest\" is every core's busy time no process here accounts for: wrk, the kernel's loopback networking, anything else. The \"cores busy\" columns above show which side ran out first.").AppendLine();
        var names = stack.Cpu.Names.Where(n => n != stack.Portkey.CpuAccount).ToList();
        md.AppendLine("| run | " + string.Join(" | ", names) + " | the rest | all |");
        md.AppendLine("|---|" + string.Concat(Enumerable.Repeat("---:|", names.Count + 2)));
        foreach (var run in runs.Runs.Where(r => r.Target == stack.Majestix))
        {
            var perRequest = 1000.0 / Math.Max(1, run.Result.Requests);
            var all = run.Machine.CoreBusySeconds.Sum();
            var rest = all - run.Machine.ProcessSeconds.Values.Sum();
            var processes = string.Join(" | ", names.Select(n => (run.Machine.ProcessSeconds[n] * perRequest).ToString("F3", Invariant)));
            md.AppendLine(Invariant, $"| {(run.Stream ? "stream" : "json")} c={run.Concurrency} | {processes} | {rest * perRequest:F3} | {all * perRequest:F3} |");
        }

        md.AppendLine().AppendLine("**inference-api's allocations, GC and JIT**, from the runtime's own counters (`System.Runtime`, sampled every second over EventPipe, as dotnet-counters reads them). A collection stops every thread of the gateway; at c=1 a request that meets one waits for it. JIT time is tiered compilation still recompiling code on the gateway's core: near zero in a warm run.").AppendLine();
        md.AppendLine("| run | KB allocated per request | collections per second | GC pause, ms per second | JIT, ms per second |").AppendLine("|---|---:|---:|---:|---:|");
        foreach (var run in runs.Runs.Where(r => r.Target == stack.Majestix && r.Runtime is not null))
        {
            md.AppendLine(Invariant, $"| {(run.Stream ? "stream" : "json")} c={run.Concurrency} | {run.AllocatedKilobytesPerRequest:F1} | {run.Runtime!.CollectionsPerSecond:F1} | {run.Runtime.PauseMillisecondsPerSecond:F1} | {run.Runtime.JitMillisecondsPerSecond:F1} |");
        }

        var ours = runs.Find("majestix", false, highest);
        var direct = runs.Find("direct", false, highest);
        var directMs = direct.Machine.CoreBusySeconds.Sum() * 1000 / Math.Max(1, direct.Result.Requests);
        var tenfold = 10 * runs.Find("portkey", false, highest).Result.RequestsPerSecond;
        var gatewayMs = ours.CpuMillisecondsPerRequest ?? 0;
        var otherMs = ours.Machine.CoreBusySeconds.Sum() * 1000 / Math.Max(1, ours.Result.Requests) - gatewayMs;
        md.AppendLine().AppendLine(Invariant,
            $"What 10× Portkey (non-streaming, c={highest}) would take: {tenfold:F0} req/s. At this run's costs that is {tenfold * gatewayMs / 1000:F2} cores of inference-api ({gatewayMs:F3} ms a request) and {tenfold * otherMs / 1000:F2} cores for everything else a request costs on this box ({otherMs:F3} ms: Redis, the mock, the emulators standing in for Pub/Sub and Firestore, wrk, the kernel), on a machine of {Environment.ProcessorCount}. Those costs fall as load batches work (for scale: wrk and the mock together took {directMs:F3} ms a request when the direct target ran {direct.Result.RequestsPerSecond:F0} req/s), so this is the order of the gap, not its exact size.").AppendLine();
    }

    private void MachineFloor(StringBuilder md)
    {
        md.AppendLine("## This machine's own cost of a crossing (no gateway)").AppendLine();
        md.AppendLine(hopFloor.AcrossCores
            ? "A one-byte TCP ping-pong on loopback between a thread on the gateways' core and one on the other, blocking calls only, measured while the stack was idle. A request through a gateway crosses between the cores about ten times (wrk → gateway → Redis ×3 → mock → wrk); through the direct target it never does (wrk and the mock share a core). So part of every gateway's added latency, and much of its p99, is the machine's."
            : "One CPU: the ping-pong runs between two threads on it.").AppendLine();
        md.AppendLine("| crossing | p50 µs | p90 µs | p99 µs | max µs |").AppendLine("|---|---:|---:|---:|---:|");
        void Row(string name, List<double> micros) => md.AppendLine(Invariant,
            $"| {name} | {Percentile(micros, 50):F0} | {Percentile(micros, 90):F0} | {Percentile(micros, 99):F0} | {micros.Max():F0} |");
        Row($"one round trip, back to back ({hopFloor.BackToBack.Count:N0})", hopFloor.BackToBack);
        Row($"one round trip after 1 ms idle ({hopFloor.AfterIdle.Count:N0})", hopFloor.AfterIdle);
        Row($"{HopFloorResult.Hops} round trips in a row, about one request's crossings ({hopFloor.RequestLike.Count:N0})", hopFloor.RequestLike);
        md.AppendLine();
    }

    private string ChartPath => Path.ChangeExtension(settings.OutputMarkdown, ".svg");

    private string Render()
    {
        var md = new StringBuilder();
        var lowest = settings.Concurrency.Min();
        var highest = settings.Concurrency.Max();
        md.AppendLine(Invariant, $"# Gateway benchmark: {settings.Label}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC").AppendLine();
        md.AppendLine("`make bench` drives byte-identical OpenAI chat completions through three targets that all end at the same zero-latency mock upstream:").AppendLine();
        foreach (var target in stack.Targets)
        {
            md.AppendLine(Invariant, $"- **{target.Name}**: {target.Description}");
        }
        md.AppendLine().AppendLine("## Ours against Portkey").AppendLine();
        md.AppendLine("| | majestix | portkey | ours / portkey |").AppendLine("|---|---:|---:|---:|");
        Ratio(md, $"added p50, non-streaming, c={lowest} (ms)", Added(runs.Find("majestix", false, lowest), p => p.P50), Added(runs.Find("portkey", false, lowest), p => p.P50));
        Ratio(md, $"added p99, non-streaming, c={lowest} (ms)", Added(runs.Find("majestix", false, lowest), p => p.P99), Added(runs.Find("portkey", false, lowest), p => p.P99));
        Ratio(md, $"throughput, non-streaming, c={highest} (req/s)", runs.Find("majestix", false, highest).Result.RequestsPerSecond, runs.Find("portkey", false, highest).Result.RequestsPerSecond);
        Ratio(md, $"throughput, streaming, c={highest} (req/s)", runs.Find("majestix", true, highest).Result.RequestsPerSecond, runs.Find("portkey", true, highest).Result.RequestsPerSecond);
        Ratio(md, "added time to first stream byte, p50, back to back (ms)", AddedFirstByte(stack.Majestix, 50), AddedFirstByte(stack.Portkey, 50));
        Ratio(md, "peak RSS (MiB)", PeakRssMegabytes, PortkeyPeakRssMegabytes);
        md.AppendLine();

        md.AppendLine("## The issue's targets (billing on)").AppendLine();
        md.AppendLine("| target | measured | met |").AppendLine("|---|---:|:---:|");
        var json = runs.Find("majestix", false, lowest);
        Goal(md, $"added p50 at c={lowest} ≤ 0.5 ms", Added(json, p => p.P50), v => v <= 0.5, "ms");
        Goal(md, $"added p99 at c={lowest} ≤ 2 ms", Added(json, p => p.P99), v => v <= 2, "ms");
        var throughputRatio = runs.Find("majestix", false, highest).Result.RequestsPerSecond / runs.Find("portkey", false, highest).Result.RequestsPerSecond;
        Goal(md, $"throughput at c={highest} ≥ 10× Portkey", throughputRatio, v => v >= 10, "×");
        Goal(md, "added first stream byte ≤ 1 ms (p50, back to back)", AddedFirstByte(stack.Majestix, 50), v => v <= 1, "ms");
        Goal(md, "Redis round trips per non-streaming request ≤ 3 (scripts sent)", roundTrips.Single(r => !r.Stream).ScriptsPerRequest, v => v <= 3, "");
        md.AppendLine();

        foreach (var stream in new[] { false, true })
        {
            md.AppendLine(stream ? "## Streaming (latency = whole stream)" : "## Non-streaming").AppendLine();
            md.AppendLine("| c | target | req/s | p50 ms | p90 ms | p99 ms | added p50 | added p99 | gateway CPU ms/req | cores busy % | errors |");
            md.AppendLine("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var level in settings.Concurrency)
            {
                foreach (var target in stack.Targets)
                {
                    var run = runs.Find(target.Name, stream, level);
                    var r = run.Result;
                    var direct = target == stack.Direct;
                    md.AppendLine(Invariant,
                        $"| {level} | {target.Name} | {r.RequestsPerSecond:F0} | {Ms(r.P50)} | {Ms(r.P90)} | {Ms(r.P99)} | {(direct ? "" : Added(run, p => p.P50).ToString("F2", Invariant))} | {(direct ? "" : Added(run, p => p.P99).ToString("F2", Invariant))} | {(run.CpuMillisecondsPerRequest is { } cpu ? cpu.ToString("F3", Invariant) : "")} | {CoresBusy(run)} | {r.Errors} |");
                }
            }
            md.AppendLine();
        }

        WhereTheCpuGoes(md, highest);

        md.AppendLine(Invariant, $"## Time to the first `data:` line of a stream (c=1, {settings.FirstByteSamples} per target in each regime)").AppendLine();
        md.AppendLine("**Back to back**: each target takes its streams in blocks of 50 in a row, as in wrk's c=1 runs (blocks rotated between targets). This is the figure the ratio and the target above use.").AppendLine();
        FirstByteTable(md, t => t.BackToBack);
        md.AppendLine("**After idle**: one stream per target in turn, so each request reaches a gateway that sat idle while the others answered (about 30 ms for inference-api, behind Portkey's stream). Waking threads that have gone to sleep is what this adds, and on this machine it is expensive.").AppendLine();
        FirstByteTable(md, t => t.AfterIdle);

        MachineFloor(md);

        md.AppendLine("## Redis per request (majestix)").AppendLine();
        md.AppendLine("**Round trips**: commands inference-api sent, counted with `MONITOR` over sequential requests outside the timed runs (a script's inner commands are not sent, so they are not counted; the reaper's periodic commands in that window are). Awaited and fire-and-forget commands both count.").AppendLine();
        md.AppendLine("| requests | scripts per request | everything sent per request | by command |").AppendLine("|---|---:|---:|---|");
        foreach (var sample in roundTrips)
        {
            var byCommand = string.Join(", ", sample.Commands.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {p.Value / (double)sample.Requests:F2}"));
            md.AppendLine(Invariant, $"| {sample.Requests} {(sample.Stream ? "streaming" : "non-streaming")} | {sample.ScriptsPerRequest:F2} | {sample.PerRequest:F2} | {byCommand} |");
        }
        md.AppendLine().AppendLine("The scripts are the gate and the settle. The gate checks the address block, the per-IP window, the key and its owner's per-user window, and holds the call's worst case in the same trip (for a key this instance verified within the last minute; the first call of a key sends the gate and the reserve apart). The answer waits for the gate; this endpoint's answer reports tokens, not credits, so its settle is sent before the answer is written and finishes after it (`/code` and `/chat`, which report `credits_used`, wait for it). Everything else is background: the ledger writer confirming a batch of entries in one pipelined ZREM + UNLINK, and the reaper's periodic scan and re-drive (an HGET per entry it re-drives).");
        md.AppendLine().AppendLine("**Work inside Redis**: every command executed during each timed run, scripts' inner commands included (`INFO commandstats` delta, heartbeats excluded), per request wrk counted.").AppendLine();
        md.AppendLine("| run | executed per request | by command |").AppendLine("|---|---:|---|");
        foreach (var run in runs.Runs.Where(r => r.RedisCommands is not null))
        {
            var byCommand = string.Join(", ", run.RedisCommands!.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {p.Value / (double)run.Result.Requests:F2}"));
            md.AppendLine(Invariant, $"| {(run.Stream ? "stream" : "json")} c={run.Concurrency} | {run.RedisCommandsPerRequest:F2} | {byCommand} |");
        }
        md.AppendLine();

        md.AppendLine("## Billing check").AppendLine();
        md.AppendLine(Invariant, $"Every request inference-api served was charged: {billing.RequestsServed:N0} served (wrk's counts plus the probes), {billing.RequestsBilled:N0} billed ({billing.SpentUnits:N0} micro-credits at {billing.ChargePerRequestUnits:N0} each). A run that ends with requests in flight bills them although wrk does not count them, so billed may exceed served by at most the connections of each run.").AppendLine();

        var expectedEvents = (long)Math.Round(billing.RequestsBilled) + 2;
        var ledgerLine = background.LedgerEntriesPending == 0
            ? string.Create(Invariant, $"every ledger entry reached Firestore, the last {background.LedgerDrain.TotalSeconds:F0} s after the last request")
            : string.Create(Invariant, $"**{background.LedgerEntriesPending:N0} ledger entries were still pending** {background.LedgerDrain.TotalSeconds:F0} s after the last request");
        var duplicates = background.DuplicateUsageMessages == 0
            ? "no event twice"
            : string.Create(Invariant, $"{background.DuplicateUsageMessages:N0} more messages repeated an event already counted");
        var eventsLine = background.UsageEvents >= expectedEvents
            ? string.Create(Invariant, $"Pub/Sub received a usage event for every call: {background.UsageEvents:N0} distinct events (by `event_id`; {duplicates}) for {expectedEvents:N0} billed calls, the check's two uncounted calls included. Billed calls are the credits spent divided by one full call's price, so calls cut short when wrk stops mid-call, charged for what was produced, count for less than one: {background.UsageEventsNotOk:N0} events ended other than `ok`.")
            : string.Create(Invariant, $"**Pub/Sub received {background.UsageEvents:N0} usage events for {expectedEvents:N0} billed calls**: the publisher dropped {expectedEvents - background.UsageEvents:N0} ({100.0 * (expectedEvents - background.UsageEvents) / expectedEvents:F1}%) when its bounded buffer filled because the emulator could not keep up; it counts and logs every drop and never blocks a request.");
        md.Append("Background work, checked after the runs: ").Append(ledgerLine)
            .Append(" (entries the writer's queue could not take wait in Redis's durable pending set until the reaper writes them). ")
            .AppendLine(eventsLine).AppendLine();

        md.AppendLine("## Setup and how to read it").AppendLine();
        md.AppendLine(Invariant, $"- Machine: {Environment.ProcessorCount} CPUs ({CpuModel()}), {MemoryGigabytes():F0} GiB, Linux {Environment.OSVersion.Version}; .NET {Environment.Version}; Node {NodeVersion()}; wrk 4.1.0 from Debian.");
        md.AppendLine(Invariant, $"- Placement: {CpuPlacement.Describe(settings.GatewayCpu)}. A gateway is measured on one core; the mock, wrk, Redis and both emulators share the other, so the direct column is also the ceiling of that core. The Firestore emulator runs under the idle scheduling policy (`chrt --idle 0`): it stands in for a service on Google's machines, each write costs it milliseconds of CPU that would otherwise be taken from the mock and Redis, it gives way the moment either wakes, and ledger writes it cannot take in time wait durably in Redis. The Pub/Sub emulator keeps normal priority: at the lowest it fell tens of thousands of usage events behind, which then waited in inference-api's memory and loaded the runs after. The background-work line above shows what arrived.");
        md.AppendLine(Invariant, $"- Before the first cell every target takes {settings.InitialWarmup.TotalSeconds:F0} s of unmeasured load at 16 connections (half JSON, half streams), then every cell's shape for {settings.ShapeWarmup.TotalSeconds:F0} s in turn, target after target, in passes until one after the first cost inference-api's JIT under {LoadRuns.QuietJitShare * 100:F0}% of its turn ({runs.WarmupPasses} passes this run, at most {settings.WarmupPassLimit}), so the JIT and V8 have compiled the paths every cell takes; the JIT column above shows what was left.");
        md.AppendLine(Invariant, $"- Each cell: {settings.Warmup.TotalSeconds:F0} s warm-up, then {settings.Duration.TotalSeconds:F0} s measured, per target, targets back to back with the order rotated per cell. wrk keeps c connections busy (closed loop), `-t min(c,2)`.");
        md.AppendLine("- Added latency = a gateway's percentile minus the direct target's percentile at the same concurrency (a difference of percentiles, not a percentile of differences).");
        md.AppendLine("- inference-api runs with everything on: API-key auth (Redis cache), per-IP and per-user sliding-window limits (set high enough not to refuse), credit reserve before and settle after every call, the ledger entry in Firestore (emulator), usage events to Pub/Sub (emulator), structured request logs to stdout. Portkey runs its defaults.");
        md.AppendLine("- Comparable with: other runs of `make bench` on this kind of machine. Not comparable with: published numbers from other hardware, multi-core deployments (Cloud Run gives each instance its own vCPUs), or a real provider's latency, which adds hundreds of milliseconds that dwarf every number here.");
        md.AppendLine(Invariant, $"- Request body: `{BenchStack.Body(stream: false)}` (streaming adds `\"stream\":true` and `include_usage`). The mock answers 16 words, 16 tokens.");
        md.AppendLine().AppendLine(Invariant, $"![latency chart]({Path.GetFileName(ChartPath)})");
        return md.ToString();
    }

    private double Added(LoadRun run, Func<WrkResult, long> percentile) =>
        (percentile(run.Result) - percentile(runs.Find("direct", run.Stream, run.Concurrency).Result)) / 1000.0;

    private void FirstByteTable(StringBuilder md, Func<FirstByteTimings, List<StreamTiming>> regime)
    {
        md.AppendLine("| target | p50 ms | p90 ms | p99 ms | added p50 | added p99 | whole stream p50 ms |").AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var target in stack.Targets)
        {
            var direct = target == stack.Direct;
            md.AppendLine(Invariant,
                $"| {target.Name} | {FirstByte(target, 50, regime):F2} | {FirstByte(target, 90, regime):F2} | {FirstByte(target, 99, regime):F2} | {(direct ? "" : AddedFirstByte(target, 50, regime).ToString("F2", Invariant))} | {(direct ? "" : AddedFirstByte(target, 99, regime).ToString("F2", Invariant))} | {Percentile(regime(firstBytes[target]).Select(t => t.CompleteMilliseconds), 50):F2} |");
        }
        md.AppendLine();
    }

    private double FirstByte(Target target, double percentile, Func<FirstByteTimings, List<StreamTiming>>? regime = null) =>
        Percentile((regime ?? (t => t.BackToBack))(firstBytes[target]).Select(t => t.FirstDataMilliseconds), percentile);

    private double AddedFirstByte(Target target, double percentile, Func<FirstByteTimings, List<StreamTiming>>? regime = null) =>
        FirstByte(target, percentile, regime) - FirstByte(stack.Direct, percentile, regime);

    private static double Percentile(IEnumerable<double> values, double percentile)
    {
        var sorted = values.Order().ToArray();
        var rank = (int)Math.Ceiling(percentile / 100 * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }

    private static void Ratio(StringBuilder md, string label, double ours, double theirs) =>
        md.AppendLine(Invariant, $"| {label} | {ours:F2} | {theirs:F2} | {(theirs == 0 ? "—" : (ours / theirs).ToString("F2", Invariant))} |");

    private static void Goal(StringBuilder md, string label, double value, Func<double, bool> met, string unit) =>
        md.AppendLine(Invariant, $"| {label} | {value:F2} {unit} | {(met(value) ? "yes" : "**no**")} |");

    private static string Ms(long microseconds) => (microseconds / 1000.0).ToString("F2", Invariant);

    private static string CpuModel() =>
        File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";

    private static double MemoryGigabytes() =>
        long.Parse(File.ReadLines("/proc/meminfo").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], Invariant) / 1024.0 / 1024.0;

    private static string NodeVersion()
    {
        using var node = Process.Start(new ProcessStartInfo("node", "--version") { RedirectStandardOutput = true, UseShellExecute = false });
        return node?.StandardOutput.ReadToEnd().Trim() ?? "unknown";
    }
}
