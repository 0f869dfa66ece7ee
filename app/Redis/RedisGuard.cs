using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Majestix.InferenceApi.Redis;

/// <summary>
/// Applies <see cref="RedisFailurePolicy"/> in one place. Callers wrap Redis work in
/// <see cref="RunAsync{T}"/>: under <c>reject</c> an outage surfaces as <see cref="RedisUnavailableException"/>
/// (a 503); under <c>allow</c> the fallback value is returned and a warning is logged at most once a minute.
/// </summary>
internal sealed class RedisGuard(IOptions<RedisOptions> options, TimeProvider time, ILogger<RedisGuard> logger)
{
    private static readonly TimeSpan WarningInterval = TimeSpan.FromMinutes(1);
    private long _lastWarningTicks = long.MinValue;

    public RedisFailurePolicy Policy => options.Value.FailurePolicy;

    public async ValueTask<T> RunAsync<T>(Func<ValueTask<T>> operation, T fallbackWhenAllowed)
    {
        try
        {
            return await operation();
        }
        catch (Exception exception) when (IsOutage(exception))
        {
            if (Policy == RedisFailurePolicy.Reject)
            {
                throw new RedisUnavailableException(exception);
            }
            WarnAtMostOncePerMinute(exception);
            return fallbackWhenAllowed;
        }
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
