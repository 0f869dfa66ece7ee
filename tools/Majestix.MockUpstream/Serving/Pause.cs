using System.Diagnostics;

namespace Majestix.MockUpstream.Serving;

// Task.Delay rounds to whole milliseconds and may wake a little early; a knob promises "at least".
internal static class Pause
{
    public static Task ForAsync(double milliseconds, CancellationToken cancellationToken) =>
        milliseconds > 0
            ? UntilAsync(Stopwatch.GetTimestamp() + (long)(milliseconds * Stopwatch.Frequency / 1000), cancellationToken)
            : Task.CompletedTask;

    public static async Task UntilAsync(long dueTimestamp, CancellationToken cancellationToken)
    {
        TimeSpan remaining;
        while ((remaining = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), dueTimestamp)) > TimeSpan.Zero)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Ceiling(remaining.TotalMilliseconds)), cancellationToken);
        }
    }
}
