namespace Majestix.GoogleCloud;

/// <summary>Exponential backoff with jitter, shaped like the Google client libraries' defaults.</summary>
/// <param name="InitialDelay">Delay before the first retry.</param>
/// <param name="Multiplier">Growth factor per attempt.</param>
/// <param name="MaxDelay">Upper bound for a single delay.</param>
public sealed record RetryBackoff(TimeSpan InitialDelay, double Multiplier, TimeSpan MaxDelay)
{
    /// <summary>0.1 s, ×1.3 per attempt, capped at 60 s.</summary>
    public static RetryBackoff GoogleDefault { get; } = new(TimeSpan.FromMilliseconds(100), 1.3, TimeSpan.FromSeconds(60));

    /// <summary>The delay before retry number <paramref name="retry"/> (1-based).</summary>
    public TimeSpan DelayFor(int retry)
    {
        var ceiling = Math.Min(MaxDelay.TotalMilliseconds, InitialDelay.TotalMilliseconds * Math.Pow(Multiplier, retry - 1));
        // Full jitter: clients that failed together (a contended transaction) must not retry in lock step.
        return TimeSpan.FromMilliseconds(ceiling * Random.Shared.NextDouble());
    }
}
