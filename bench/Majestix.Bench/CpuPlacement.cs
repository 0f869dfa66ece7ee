using System.Diagnostics;
using System.Globalization;

namespace Majestix.Bench;

/// <summary>
/// The gateway under test gets a CPU of its own; this process and everything it starts (wrk, the mock,
/// Redis, the emulators) inherit the others. On a 2-core machine that is one core each side.
/// </summary>
internal static class CpuPlacement
{
    public static string Describe(int gatewayCpu) => Environment.ProcessorCount < 2
        ? "one CPU: nothing pinned, every process shares it"
        : $"gateways pinned to CPU {gatewayCpu}; load generator, mock upstream, Redis and emulators on CPU {Others(gatewayCpu)}";

    public static void PinThisProcessAwayFrom(int gatewayCpu)
    {
        if (Environment.ProcessorCount < 2)
        {
            BenchStack.Log("only one CPU: processes are not pinned");
            return;
        }
        using var taskset = Process.Start(new ProcessStartInfo("taskset", ["-a", "-p", "-c", Others(gatewayCpu), Environment.ProcessId.ToString(CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("taskset did not start.");
        taskset.WaitForExit();
        if (taskset.ExitCode != 0)
        {
            throw new InvalidOperationException("taskset could not pin the benchmark process.");
        }
    }

    public static IEnumerable<int> OtherCpus(int gatewayCpu) => Enumerable.Range(0, Environment.ProcessorCount).Where(cpu => cpu != gatewayCpu);

    private static string Others(int gatewayCpu) => string.Join(',', OtherCpus(gatewayCpu).Select(cpu => cpu.ToString(CultureInfo.InvariantCulture)));
}
