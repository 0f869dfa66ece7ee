using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Majestix.Bench;

/// <summary>
/// What the machine itself adds when work crosses from one core to the other, measured the way a request
/// crosses (wrk → gateway → Redis → gateway → mock → …): a one-byte TCP ping-pong on loopback between a
/// thread on the gateway's core and one on the other, blocking calls only, so no thread pool or runtime
/// hand-off is in it. On a VM an idle vCPU may halt and need the hypervisor to wake it; that cost shows
/// in "after idle" and is part of every gateway's number and none of the direct target's.
/// </summary>
internal static partial class HopFloor
{
    private const int BackToBackSamples = 5_000;
    private const int AfterIdleSamples = 500;
    private const int RequestLikeSamples = 2_000;

    public static HopFloorResult Measure(int gatewayCpu)
    {
        var otherCpu = CpuPlacement.OtherCpus(gatewayCpu).DefaultIfEmpty(gatewayCpu).First();
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.Connect(listener.LocalEndPoint!);
        using var server = listener.Accept();
        server.NoDelay = true;

        var echo = new Thread(() =>
        {
            PinCurrentThread(gatewayCpu);
            var buffer = new byte[1];
            while (server.Receive(buffer) == 1)
            {
                server.Send(buffer);
            }
        })
        { IsBackground = true, Name = "hop-floor echo" };
        echo.Start();

        var result = new HopFloorResult(Environment.ProcessorCount > 1, [], [], []);
        var measurer = new Thread(() =>
        {
            PinCurrentThread(otherCpu);
            var buffer = new byte[1];
            double RoundTrips(int count)
            {
                var start = Stopwatch.GetTimestamp();
                for (var i = 0; i < count; i++)
                {
                    client.Send(buffer);
                    client.Receive(buffer);
                }
                return Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            }
            RoundTrips(1_000);
            result.BackToBack.AddRange(Enumerable.Range(0, BackToBackSamples).Select(_ => RoundTrips(1)));
            result.RequestLike.AddRange(Enumerable.Range(0, RequestLikeSamples).Select(_ => RoundTrips(HopFloorResult.Hops)));
            result.AfterIdle.AddRange(Enumerable.Range(0, AfterIdleSamples).Select(_ =>
            {
                Thread.Sleep(1);
                return RoundTrips(1);
            }));
        })
        { Name = "hop-floor measurer" };
        measurer.Start();
        measurer.Join();
        client.Shutdown(SocketShutdown.Both);
        echo.Join(TimeSpan.FromSeconds(5));
        return result;
    }

    private static void PinCurrentThread(int cpu)
    {
        if (Environment.ProcessorCount < 2)
        {
            return;
        }
        var mask = 1UL << cpu;
        if (SchedSetAffinity(0, sizeof(ulong), ref mask) != 0)
        {
            throw new InvalidOperationException($"sched_setaffinity to CPU {cpu} failed (errno {Marshal.GetLastPInvokeError()}).");
        }
    }

    [LibraryImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static partial int SchedSetAffinity(int pid, nint size, ref ulong mask);
}

/// <summary>Round-trip times in microseconds: one at a time, after 1 ms idle, and eight in a row.</summary>
internal sealed record HopFloorResult(bool AcrossCores, List<double> BackToBack, List<double> AfterIdle, List<double> RequestLike)
{
    public const int Hops = 8;
}
