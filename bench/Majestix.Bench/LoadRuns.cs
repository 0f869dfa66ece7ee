using System.Diagnostics;
using StackExchange.Redis;

namespace Majestix.Bench;

/// <summary>One measured wrk run: a target, a request kind and a concurrency level.</summary>
internal sealed record LoadRun(Target Target, bool Stream, int Concurrency, WrkResult Result, IReadOnlyDictionary<string, long>? RedisCommands, MachineCpuUse Machine,
    RuntimeUse? Runtime)
{
    /// <summary>What inference-api allocated per request, in kilobytes (majestix runs only).</summary>
    public double? AllocatedKilobytesPerRequest => Runtime is null || Result.RequestsPerSecond <= 0 ? null : Runtime.AllocatedBytesPerSecond / Result.RequestsPerSecond / 1000;

    /// <summary>Gateway CPU time per request in milliseconds (null for the direct target).</summary>
    public double? CpuMillisecondsPerRequest => Result.Requests == 0 || Target.CpuAccount is not { } account ? null : Machine.ProcessSeconds[account] * 1000 / Result.Requests;

    public double? RedisCommandsPerRequest => RedisCommands is null || Result.Requests == 0 ? null : RedisCommands.Values.Sum() / (double)Result.Requests;
}

/// <param name="WarmupPasses">Passes over every cell's shape the warm-up took before inference-api's JIT went quiet.</param>
internal sealed record LoadRunSet(IReadOnlyList<LoadRun> Runs, long MajestixRequestsServed, int WarmupPasses)
{
    public LoadRun Find(string target, bool stream, int concurrency) =>
        Runs.Single(r => r.Target.Name == target && r.Stream == stream && r.Concurrency == concurrency);
}

/// <summary>
/// Every (concurrency, kind) cell runs all three targets back to back, each with its own warm-up,
/// and the order rotates from cell to cell so slow drift of the machine does not favour one target.
/// </summary>
internal static class LoadRuns
{
    // Long enough for the ledger and usage events behind a 64-connection run of inference-api to reach the emulators.
    private static readonly TimeSpan QuietWait = TimeSpan.FromSeconds(60);

    /// <summary>The JIT share of a warm-up pass below which inference-api counts as warm.</summary>
    public const double QuietJitShare = 0.03;

    public static async Task<LoadRunSet> RunAsync(BenchStack stack, RedisCommandStats redisStats, IConnectionMultiplexer redis, RuntimeCounters majestixRuntime)
    {
        var settings = stack.Settings;
        var runs = new List<LoadRun>();
        long majestixServed = 0;
        var cell = 0;
        // The JIT recompiles hot code in tiers during the first seconds of load and V8 does the same, so
        // every target first takes both kinds of request at 16 connections, unmeasured.
        foreach (var target in stack.Targets)
        {
            majestixServed += await WarmAsync(stack, target, [(16, false), (16, true)], settings.InitialWarmup / 2);
        }
        BenchStack.Log($"every target warmed up ({settings.InitialWarmup.TotalSeconds:F0} s each)");
        var (passes, jitServed) = await WarmEveryShapeAsync(stack, majestixRuntime);
        majestixServed += jitServed;
        foreach (var concurrency in settings.Concurrency)
        {
            foreach (var stream in new[] { false, true })
            {
                var order = stack.Targets.Rotated(cell).ToList();
                cell++;
                foreach (var target in order)
                {
                    // The ledger writes and usage events behind inference-api's last run, or Portkey's backlog,
                    // load the machine; the next run, of whichever target, starts once they are done.
                    await BackgroundWork.WaitUntilQuietAsync(redis, stack.GatewayCpuSeconds, QuietWait);
                    var warmup = await Wrk.RunAsync(settings.RepoRoot, target, stream, concurrency, settings.Warmup);
                    var redisBefore = target == stack.Majestix ? await redisStats.ReadAsync() : null;
                    var machineBefore = stack.Cpu.Take();
                    var runtimeBefore = target == stack.Majestix ? majestixRuntime.Take() : null;
                    var result = await Wrk.RunAsync(settings.RepoRoot, target, stream, concurrency, settings.Duration);
                    var machine = MachineCpu.Between(machineBefore, stack.Cpu.Take());
                    // The last sample before the run falls in its warm-up, under the same load: the rate holds.
                    var runtime = runtimeBefore is null ? null : RuntimeTotals.Between(runtimeBefore, majestixRuntime.Take());
                    var redisAfter = target == stack.Majestix ? await redisStats.ReadAsync() : null;
                    if (target == stack.Majestix)
                    {
                        majestixServed += warmup.Requests - warmup.StatusErrors + result.Requests - result.StatusErrors;
                    }
                    var run = new LoadRun(target, stream, concurrency, result,
                        redisBefore is null ? null : RedisCommandStats.Delta(redisBefore, redisAfter!), machine, runtime);
                    runs.Add(run);
                    BenchStack.Log($"{target.Name,-9} {(stream ? "stream" : "json"),-6} c={concurrency,-3} {result.RequestsPerSecond,9:F0} req/s  " +
                                   $"p50 {result.P50 / 1000.0:F2} ms  p99 {result.P99 / 1000.0:F2} ms  errors {result.Errors}");
                }
            }
        }
        return new LoadRunSet(runs, majestixServed, passes);
    }

    /// <summary>
    /// The 16-connection warm-up leaves work for the JIT. Paths only other shapes take (one connection, a
    /// reply already there, 64 connections queueing) are compiled when that shape first runs, and tiered
    /// compilation promotes hot code mostly once load pauses and resumes: measured at 285 ms of JIT a second,
    /// 28% of the gateway's core, through a c=1 cell that followed a single warm-up pass. So the targets take
    /// every cell's shape in turn, a few seconds each, in passes that idle inference-api between its turns as
    /// the cells do, until a pass after the first costs it under <see cref="QuietJitShare"/> of its turn in the
    /// JIT. Every target takes as many passes, so all are warmed alike.
    /// </summary>
    private static async Task<(int Passes, long MajestixServed)> WarmEveryShapeAsync(BenchStack stack, RuntimeCounters majestixRuntime)
    {
        var settings = stack.Settings;
        var shapes = settings.Concurrency.SelectMany(c => new[] { (c, false), (c, true) }).ToList();
        long served = 0;
        var passes = 0;
        double jitShare;
        do
        {
            passes++;
            var before = majestixRuntime.Take();
            var turn = Stopwatch.StartNew();
            served += await WarmAsync(stack, stack.Majestix, shapes, settings.ShapeWarmup);
            var majestixTurn = turn.Elapsed;
            foreach (var target in stack.Targets.Where(t => t != stack.Majestix))
            {
                await WarmAsync(stack, target, shapes, settings.ShapeWarmup);
            }
            // The JIT inference-api did while the others ran counts too: promotions it queued run then.
            jitShare = (majestixRuntime.Take().JitMilliseconds - before.JitMilliseconds) / majestixTurn.TotalMilliseconds;
            BenchStack.Log($"warm-up pass {passes}: inference-api's JIT took {100 * jitShare:F1}% of its turn");
        }
        while ((passes < 2 || jitShare >= QuietJitShare) && passes < settings.WarmupPassLimit);
        BenchStack.Log($"every target took every cell's shape in {passes} passes, {settings.ShapeWarmup.TotalSeconds:F0} s a shape");
        return (passes, served);
    }

    /// <summary>Unmeasured load on <paramref name="target"/>, each shape in turn; returns the requests inference-api served (billed), 0 for the others.</summary>
    private static async Task<long> WarmAsync(BenchStack stack, Target target, IReadOnlyList<(int Concurrency, bool Stream)> shapes, TimeSpan each)
    {
        long served = 0;
        foreach (var (concurrency, stream) in shapes)
        {
            var run = await Wrk.RunAsync(stack.Settings.RepoRoot, target, stream, concurrency, each);
            served += run.Requests - run.StatusErrors;
        }
        return target == stack.Majestix ? served : 0;
    }
}
