using System.Diagnostics;

namespace Majestix.Testing;

/// <summary>Polls for a condition that background work makes true, for tests that cannot await that work.</summary>
public static class Eventually
{
    /// <summary>True as soon as <paramref name="condition"/> holds; false once <paramref name="timeout"/> has passed without it.</summary>
    public static async Task<bool> HoldsAsync(Func<Task<bool>> condition, TimeSpan timeout, TimeSpan? interval = null)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (await condition().ConfigureAwait(false))
            {
                return true;
            }
            await Task.Delay(interval ?? TimeSpan.FromMilliseconds(200)).ConfigureAwait(false);
        }
        return false;
    }

    /// <inheritdoc cref="HoldsAsync(Func{Task{bool}}, TimeSpan, TimeSpan?)"/>
    public static Task<bool> HoldsAsync(Func<bool> condition, TimeSpan timeout, TimeSpan? interval = null) =>
        HoldsAsync(() => Task.FromResult(condition()), timeout, interval);
}
