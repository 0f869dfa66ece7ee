using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Majestix.InferenceApi.Redis;

/// <summary>
/// Applies <see cref="RedisFailurePolicy"/> in one place. Callers wrap Redis work in
/// <see cref="RunAsync{T}"/>: under <c>reject</c> an outage surfaces as <see cref="RedisUnavailableException"/>
/// (a 503); under <c>allow</c> the fallback value is returned and a warning is logged at most once a minute.
/// A command that timed out while the connection is up and the server answered a moment ago is this process
/// being slow (its own CPU saturated), not Redis gone: work that is safe to repeat is tried again for a while.
/// </summary>
internal sealed class RedisGuard(IOptions<RedisOptions> options, TimeProvider time, ILogger<RedisGuard> logger, IConnectionMultiplexer? multiplexer = null)
{
    private static readonly TimeSpan WarningInterval = TimeSpan.FromMinutes(1);

    // How recent the server's last answer must be for a timeout to count as this process's slowness.
    private static readonly TimeSpan RecentAnswer = TimeSpan.FromSeconds(10);

    // How long repeatable work keeps being retried through timeouts before it is an outage after all.
    private static readonly TimeSpan SlownessBudget = TimeSpan.FromSeconds(5);

    private long _lastWarningTicks = long.MinValue;

    // A multiplexer that is connected has had the server answer its handshake: a start that is slow is not an outage.
    private long _lastAnswerTicks = multiplexer is { IsConnected: true } ? time.GetTimestamp() : long.MinValue;

    public RedisFailurePolicy Policy => options.Value.FailurePolicy;

    /// <summary>
    /// Runs <paramref name="operation"/> under the failure policy. With <paramref name="repeatable"/> (the operation is
    /// idempotent: a Lua script keyed by a hold id), a timeout that is slowness rather than an outage
    /// (<see cref="IsSlowness"/>) runs it again, for up to a few seconds, instead of failing the request.
    /// </summary>
    public async ValueTask<T> RunAsync<T>(Func<ValueTask<T>> operation, T fallbackWhenAllowed, bool repeatable = false)
    {
        long? firstTimeout = null;
        while (true)
        {
            try
            {
                var result = await operation();
                NoteAnswer();
                return result;
            }
            catch (Exception exception) when (repeatable && IsSlowness(exception) && time.GetElapsedTime(firstTimeout ??= time.GetTimestamp()) < SlownessBudget)
            {
                logger.LogInformation("A Redis command timed out while the connection is up ({Reason}); retrying it", exception.GetType().Name);
            }
            catch (Exception exception) when (IsOutage(exception))
            {
                return Fail(exception, fallbackWhenAllowed);
            }
        }
    }

    // Every guarded command ends here: the shared stamp is written only when it is a while old, so calls in flight
    // together do not all write the same cache line.
    private void NoteAnswer()
    {
        var now = time.GetTimestamp();
        if (now - Volatile.Read(ref _lastAnswerTicks) > time.TimestampFrequency / 4)
        {
            Volatile.Write(ref _lastAnswerTicks, now);
        }
    }

    /// <summary>
    /// A timeout while the multiplexer is connected and the server answered within the last few seconds: the
    /// command waited on this process (thread pool, CPU) or on a busy server, and may well have run.
    /// </summary>
    public bool IsSlowness(Exception exception)
    {
        if (exception is not RedisTimeoutException || multiplexer is not { IsConnected: true })
        {
            return false;
        }
        var lastAnswer = Interlocked.Read(ref _lastAnswerTicks);
        return lastAnswer != long.MinValue && time.GetElapsedTime(lastAnswer) < RecentAnswer;
    }

    private T Fail<T>(Exception exception, T fallbackWhenAllowed)
    {
        if (Policy == RedisFailurePolicy.Reject)
        {
            throw new RedisUnavailableException(exception);
        }
        WarnAtMostOncePerMinute(exception);
        return fallbackWhenAllowed;
    }

    public static bool IsOutage(Exception exception) =>
        exception is RedisConnectionException or RedisTimeoutException or ObjectDisposedException
        || exception is RedisServerException { Message: var message } && message.StartsWith("LOADING", StringComparison.Ordinal);

    private void WarnAtMostOncePerMinute(Exception exception)
    {
        var now = time.GetTimestamp();
        var last = Interlocked.Read(ref _lastWarningTicks);
        if (last != long.MinValue && time.GetElapsedTime(last, now) < WarningInterval)
        {
            return;
        }
        if (Interlocked.CompareExchange(ref _lastWarningTicks, now, last) == last)
        {
            logger.LogWarning("Redis is unreachable ({Reason}); REDIS_FAILURE_POLICY=allow lets requests through without rate or credit enforcement",
                exception.GetType().Name);
        }
    }
}

/// <summary>Redis is unreachable and the policy is <c>reject</c>: the request is answered 503.</summary>
internal sealed class RedisUnavailableException(Exception inner)
    : Exception("Redis is unavailable", inner);
