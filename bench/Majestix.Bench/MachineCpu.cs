using System.Globalization;
using Majestix.Testing;

namespace Majestix.Bench;

/// <summary>
/// Where the machine's CPU went during a run: how busy each core was (/proc/stat) and how much each
/// process of the stack used, children included (the emulators run java under a script). What no
/// account names on a core is wrk, the kernel's network work and everything else.
/// </summary>
internal sealed class MachineCpu(IReadOnlyList<(string Name, ExternalProcess Process)> accounts)
{
    // The java processes are children of the emulators' scripts; they are found once, after start.
    private readonly List<(string Name, int[] Ids)> _trees = [.. accounts.Select(a => (a.Name, a.Process.TreeIds().ToArray()))];

    public IEnumerable<string> Names => _trees.Select(t => t.Name);

    /// <summary>CPU seconds the named accounts have used so far, children included.</summary>
    public double SecondsOf(params string[] names) => _trees.Where(t => names.Contains(t.Name)).Sum(TreeSeconds);

    public Snapshot Take() => new(CoreTicks(), _trees.ToDictionary(t => t.Name, TreeSeconds, StringComparer.Ordinal));

    private static double TreeSeconds((string Name, int[] Ids) tree) => tree.Ids.Sum(CpuSecondsWhileAlive);

    public static MachineCpuUse Between(Snapshot before, Snapshot after)
    {
        var busy = before.Cores.Select((core, i) =>
        {
            var total = after.Cores[i].Total - core.Total;
            return total == 0 ? 0 : (double)(after.Cores[i].Busy - core.Busy) / total;
        }).ToArray();
        var seconds = after.Cores.Select((core, i) => (core.Busy - before.Cores[i].Busy) / ProcessStats.ClockTicksPerSecond).ToArray();
        return new MachineCpuUse(busy, seconds, after.Processes.ToDictionary(p => p.Key, p => p.Value - before.Processes[p.Key], StringComparer.Ordinal));
    }

    // A process of a tree that has ended (a launcher script's helper) no longer counts.
    private static double CpuSecondsWhileAlive(int pid)
    {
        try
        {
            return ProcessStats.CpuSeconds(pid);
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static (long Busy, long Total)[] CoreTicks() =>
        [.. File.ReadLines("/proc/stat")
            .Where(line => line.StartsWith("cpu", StringComparison.Ordinal) && char.IsDigit(line[3]))
            .Select(line =>
            {
                var ticks = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8).Select(t => long.Parse(t, CultureInfo.InvariantCulture)).ToArray();
                var total = ticks.Sum();
                return (total - ticks[3] - ticks[4], total);
            })];

    internal sealed record Snapshot((long Busy, long Total)[] Cores, IReadOnlyDictionary<string, double> Processes);
}

/// <summary>One run's CPU: each core's busy fraction and busy seconds, and each account's CPU seconds.</summary>
internal sealed record MachineCpuUse(double[] CoreBusy, double[] CoreBusySeconds, IReadOnlyDictionary<string, double> ProcessSeconds);
