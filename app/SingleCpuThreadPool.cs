using System.Runtime.CompilerServices;

namespace Majestix.InferenceApi;

/// <summary>
/// On one CPU, an idle thread-pool worker's spin before it sleeps is about 60 <c>sched_yield</c>
/// calls: nothing else can run the work it waits for while it spins, so it only burns the CPU the
/// request needs. Measured with the gateway pinned to one core at concurrency 1: about 27,000 yields a
/// second and 0.3–0.5 ms of CPU a request. With two or more CPUs spinning does pay off (the same A/B,
/// unpinned, was 0.4 ms slower at p50 without it), so the runtime's default stays there.
/// </summary>
internal static class SingleCpuThreadPool
{
    private const string SpinLimitSetting = "System.Threading.ThreadPool.UnfairSemaphoreSpinLimit";

    // A module initializer runs before Main, so before the pool's first worker reads the setting.
#pragma warning disable CA2255 // the one place that must run before Main
    [ModuleInitializer]
    internal static void Apply()
#pragma warning restore CA2255
    {
        if (Environment.ProcessorCount == 1 && AppContext.GetData(SpinLimitSetting) is null
            && Environment.GetEnvironmentVariable("DOTNET_ThreadPool_UnfairSemaphoreSpinLimit") is null)
        {
            AppContext.SetData(SpinLimitSetting, "0");
        }
    }
}
