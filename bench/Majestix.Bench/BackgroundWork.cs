using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using StackExchange.Redis;

namespace Majestix.Bench;

/// <summary>What the timed runs left to background work, and whether it all got done.</summary>
/// <param name="UsageEvents">Distinct usage events (by <c>event_id</c>): a duplicate must not hide a lost one.</param>
/// <param name="DuplicateUsageMessages">Messages that repeated an event already counted (Pub/Sub delivers at least once).</param>
/// <param name="UsageEventsNotOk">Distinct events whose call did not end <c>ok</c> (at the end of a run wrk leaves mid-call).</param>
internal sealed record BackgroundWorkResult(TimeSpan LedgerDrain, long LedgerEntriesPending, long UsageEvents, long DuplicateUsageMessages, long UsageEventsNotOk);

/// <summary>
/// Ledger entries and usage events leave the request path, so a fast request could hide work that
/// never happens. After the runs this waits for the ledger's pending set to empty (entries written
/// to Firestore) and counts the usage events Pub/Sub received, on a subscription made before the
/// first request.
/// </summary>
internal sealed class BackgroundWork(HttpClient pubsub, string subscriptionPath)
{
    private const string LedgerPendingKey = "credits:ledger:pending";
    private static readonly TimeSpan MaxWait = TimeSpan.FromMinutes(3);

    public static async Task<BackgroundWork> StartCountingAsync(string pubsubHost, string projectId)
    {
        var http = new HttpClient { BaseAddress = new Uri($"http://{pubsubHost}/"), Timeout = TimeSpan.FromSeconds(60) };
        var subscription = $"v1/projects/{projectId}/subscriptions/bench-usage-count";
        using var created = await http.PutAsJsonAsync(subscription, new Dictionary<string, object>
        {
            ["topic"] = $"projects/{projectId}/topics/usage-events",
            // Counted without acking: no message may come back while the count runs.
            ["ackDeadlineSeconds"] = 600,
        });
        if (!created.IsSuccessStatusCode)
        {
            http.Dispose();
            throw new InvalidOperationException($"Could not subscribe to usage events: {(int)created.StatusCode} {await created.Content.ReadAsStringAsync()}");
        }
        return new BackgroundWork(http, subscription);
    }

    /// <summary>Waits (at most <paramref name="maxWait"/>) until every ledger entry has reached Firestore; returns how many have not.</summary>
    public static async Task<long> WaitForLedgerAsync(IConnectionMultiplexer redis, TimeSpan maxWait)
    {
        var clock = Stopwatch.StartNew();
        var pending = await redis.GetDatabase().SortedSetLengthAsync(LedgerPendingKey);
        while (pending > 0 && clock.Elapsed < maxWait)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(250));
            pending = await redis.GetDatabase().SortedSetLengthAsync(LedgerPendingKey);
        }
        return pending;
    }

    /// <summary>
    /// Waits (at most <paramref name="maxWait"/>) until the ledger is written and every gateway has been
    /// idle for half a second: inference-api's usage events and ledger entries, or a request backlog
    /// Portkey is still working through after wrk stopped (its c=64 p99 runs to seconds), would
    /// otherwise take CPU from whichever target runs next on their shared core.
    /// </summary>
    public static async Task WaitUntilQuietAsync(IConnectionMultiplexer redis, Func<double> gatewayCpuSeconds, TimeSpan maxWait)
    {
        var clock = Stopwatch.StartNew();
        await WaitForLedgerAsync(redis, maxWait);
        var window = TimeSpan.FromMilliseconds(500);
        while (clock.Elapsed < maxWait)
        {
            var before = gatewayCpuSeconds();
            await Task.Delay(window);
            if (gatewayCpuSeconds() - before < 0.05 * window.TotalSeconds)
            {
                return;
            }
        }
    }

    public async Task<BackgroundWorkResult> DrainAsync(IConnectionMultiplexer redis)
    {
        var clock = Stopwatch.StartNew();
        var pending = await WaitForLedgerAsync(redis, MaxWait);
        var ledgerDrain = clock.Elapsed;

        var eventIds = new HashSet<string>(StringComparer.Ordinal);
        long notOk = 0;
        long messages = 0;
        var emptyPulls = 0;
        while (emptyPulls < 3 && clock.Elapsed < 2 * MaxWait)
        {
            using var pulled = await pubsub.PostAsJsonAsync($"{subscriptionPath}:pull", new Dictionary<string, object> { ["maxMessages"] = 1000, ["returnImmediately"] = true });
            pulled.EnsureSuccessStatusCode();
            using var body = JsonDocument.Parse(await pulled.Content.ReadAsStreamAsync());
            var received = 0;
            if (body.RootElement.TryGetProperty("receivedMessages", out var batch))
            {
                received = batch.GetArrayLength();
                foreach (var message in batch.EnumerateArray())
                {
                    var (eventId, ok) = Read(message);
                    if (eventIds.Add(eventId) && !ok)
                    {
                        notOk++;
                    }
                }
            }
            messages += received;
            if (received == 0)
            {
                // The publisher may still be flushing its last batches.
                emptyPulls++;
                await Task.Delay(TimeSpan.FromSeconds(1));
            }
            else
            {
                emptyPulls = 0;
            }
        }
        pubsub.Dispose();
        return new BackgroundWorkResult(ledgerDrain, pending, eventIds.Count, messages - eventIds.Count, notOk);
    }

    private static (string EventId, bool Ok) Read(JsonElement received)
    {
        var data = Convert.FromBase64String(received.GetProperty("message").GetProperty("data").GetString()!);
        using var usageEvent = JsonDocument.Parse(data);
        return (usageEvent.RootElement.GetProperty("event_id").GetString()!, usageEvent.RootElement.GetProperty("status").GetString() == "ok");
    }
}
