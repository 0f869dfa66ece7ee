using System.Runtime.CompilerServices;

namespace Majestix.InferenceApi.Inference.Providers;

internal static class ProviderCall
{
    /// <summary>
    /// Runs an SDK stream under the provider's overall timeout and turns every exception into a
    /// <see cref="ProviderFailureException"/>, except the caller's own cancellation.
    /// </summary>
    public static async IAsyncEnumerable<T> GuardAsync<T>(
        Func<CancellationToken, IAsyncEnumerable<T>> start,
        string provider,
        TimeSpan timeout,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        IAsyncEnumerator<T>? enumerator = null;
        try
        {
            while (true)
            {
                bool moved;
                try
                {
                    enumerator ??= start(deadline.Token).GetAsyncEnumerator(deadline.Token);
                    moved = await enumerator.MoveNextAsync();
                }
                catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
                {
                    throw ProviderFailureException.From(exception, provider, timedOut: deadline.IsCancellationRequested);
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    // The caller went away; SDKs surface the aborted read as an I/O error, callers expect a cancellation.
                    throw new OperationCanceledException("The caller cancelled the model call.", exception, cancellationToken);
                }
                if (!moved)
                {
                    yield break;
                }
                yield return enumerator.Current;
            }
        }
        finally
        {
            if (enumerator is not null)
            {
                try
                {
                    await enumerator.DisposeAsync();
                }
                catch (Exception exception) when (exception is IOException or HttpRequestException or OperationCanceledException or ObjectDisposedException)
                {
                    // Disposing an aborted upstream response can throw; the outcome is already decided.
                }
            }
        }
    }
}
