using System.Runtime.InteropServices;
using Majestix.Bench;
using StackExchange.Redis;

// make bench: starts the stack, checks every target answers correctly, drives the same requests through
// each at fixed concurrency (targets alternated within every cell), times stream first bytes, and writes
// the report. See bench/README.md for what the numbers mean and where they stop meaning anything.
var settings = BenchSettings.Parse(args);
CpuPlacement.PinThisProcessAwayFrom(settings.GatewayCpu);
await using var stack = await BenchStack.StartAsync(settings);
using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, _ => stack.Abort());
using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => stack.Abort());
if (settings.ServeOnly)
{
    await stack.ServeUntilStoppedAsync();
    return;
}
using var redis = await ConnectionMultiplexer.ConnectAsync($"{stack.Redis.ConnectionString},allowAdmin=true");
await using var majestixRuntime = RuntimeCounters.Start(stack.MajestixProcess.Id);

var background = await BackgroundWork.StartCountingAsync(stack.PubSubHost, BenchStack.ProjectId);
var check = await TargetCheck.RunAsync(stack, redis);
var runs = await LoadRuns.RunAsync(stack, new RedisCommandStats(redis), redis, majestixRuntime);

BenchStack.Log("counting Redis commands per request under MONITOR (200 sequential requests, outside the timed runs)");
RoundTripSample[] roundTrips = [await RoundTripSample.MeasureAsync(stack, stream: false, 100), await RoundTripSample.MeasureAsync(stack, stream: true, 100)];

BenchStack.Log($"timing the first byte of {settings.FirstByteSamples} streams per target back to back, and as many after idle");
await BackgroundWork.WaitUntilQuietAsync(redis, stack.GatewayCpuSeconds, TimeSpan.FromSeconds(60));
BenchStack.Log("timing the machine's own cost of crossing between the cores (no gateway)");
var hopFloor = HopFloor.Measure(settings.GatewayCpu);
using var probe = new FirstByteProbe();
var firstBytes = await probe.MeasureAsync(stack.Targets, settings.FirstByteSamples);

BenchStack.Log("waiting for the ledger writes and counting the usage events Pub/Sub received");
var backgroundResult = await background.DrainAsync(redis);
var billing = await check.BillingAfterAsync(redis, runs.MajestixRequestsServed + 2 * settings.FirstByteSamples + 20 + 200 + 1);
var report = new BenchReport(settings, stack, runs, roundTrips, firstBytes, hopFloor, billing, backgroundResult,
    PeakRssMegabytes: ProcessStats.PeakRssMegabytes(stack.MajestixProcess.Id),
    PortkeyPeakRssMegabytes: ProcessStats.PeakRssMegabytes(stack.PortkeyProcess.Id));
await report.WriteAsync();

