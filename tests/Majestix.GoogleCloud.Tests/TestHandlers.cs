using System.Collections.Concurrent;
using System.Net;
using System.Text;

namespace Majestix.GoogleCloud.Tests;

/// <summary>Records every request (method, URI, Authorization header, body) before passing it on.</summary>
internal sealed class RecordingHandler : DelegatingHandler
{
    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
        Requests.Enqueue(new RecordedRequest(request.Method, request.RequestUri!, request.Headers.Authorization?.ToString(), body));
        return await base.SendAsync(request, cancellationToken);
    }
}

internal sealed record RecordedRequest(HttpMethod Method, Uri Uri, string? Authorization, string? Body);

/// <summary>Answers requests itself (no network), for tests of what the client sends.</summary>
internal sealed class CannedResponseHandler(HttpStatusCode status, string json) : HttpMessageHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        Task.FromResult(new HttpResponseMessage(status) { Content = new StringContent(json, Encoding.UTF8, "application/json") });
}

/// <summary>
/// Fails the first <paramref name="failures"/> requests whose path ends with <paramref name="pathSuffix"/>
/// (":publish", ":commit") with a Google error envelope, without sending them.
/// </summary>
internal sealed class FailingRequestHandler(string pathSuffix, int failures, HttpStatusCode status, string canonicalStatus) : DelegatingHandler
{
    private int _remainingFailures = failures;

    public int Attempts;

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (!request.RequestUri!.AbsolutePath.EndsWith(pathSuffix, StringComparison.Ordinal))
        {
            return base.SendAsync(request, cancellationToken);
        }

        Interlocked.Increment(ref Attempts);
        if (Interlocked.Decrement(ref _remainingFailures) >= 0)
        {
            var envelope = $$$"""{"error":{"code":{{{(int)status}}},"message":"injected","status":"{{{canonicalStatus}}}"}}""";
            return Task.FromResult(new HttpResponseMessage(status) { Content = new StringContent(envelope, Encoding.UTF8, "application/json") });
        }

        return base.SendAsync(request, cancellationToken);
    }
}

/// <summary>Holds publish requests until <see cref="Open"/> is called; signals when the first one arrives.</summary>
internal sealed class GatedPublishHandler : DelegatingHandler
{
    private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource FirstPublishArrived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Open() => _gate.TrySetResult();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.RequestUri!.AbsolutePath.EndsWith(":publish", StringComparison.Ordinal))
        {
            FirstPublishArrived.TrySetResult();
            await _gate.Task.WaitAsync(cancellationToken);
        }

        return await base.SendAsync(request, cancellationToken);
    }
}

/// <summary>Delays every publish and records how many were in flight at once, and the keyed messages' order.</summary>
internal sealed class SlowPublishHandler(TimeSpan delay) : DelegatingHandler
{
    private int _inFlight;
    private int _mostInFlight;

    public int MostInFlight => Volatile.Read(ref _mostInFlight);

    public ConcurrentQueue<string> KeyedBodies { get; } = new();

    public void Reset() => Volatile.Write(ref _mostInFlight, 0);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (!request.RequestUri!.AbsolutePath.EndsWith(":publish", StringComparison.Ordinal))
        {
            return await base.SendAsync(request, cancellationToken);
        }
        var now = Interlocked.Increment(ref _inFlight);
        int seen;
        while (now > (seen = Volatile.Read(ref _mostInFlight)) && Interlocked.CompareExchange(ref _mostInFlight, now, seen) != seen)
        {
        }
        try
        {
            using var body = System.Text.Json.JsonDocument.Parse(await request.Content!.ReadAsStringAsync(cancellationToken));
            foreach (var message in body.RootElement.GetProperty("messages").EnumerateArray())
            {
                if (message.TryGetProperty("orderingKey", out _))
                {
                    KeyedBodies.Enqueue(Encoding.UTF8.GetString(Convert.FromBase64String(message.GetProperty("data").GetString()!)));
                }
            }
            await Task.Delay(delay, cancellationToken);
            return await base.SendAsync(request, cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }
}

/// <summary>A token source that hands out a fixed token and counts calls.</summary>
internal sealed class FixedTokenSource(string token) : IGoogleAccessTokenSource
{
    public int Calls;

    public Task<string> GetAccessTokenAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Calls);
        return Task.FromResult(token);
    }
}
