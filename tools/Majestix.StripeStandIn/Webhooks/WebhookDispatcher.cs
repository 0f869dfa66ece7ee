using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Majestix.StripeStandIn.Core;
using Microsoft.Extensions.Options;

namespace Majestix.StripeStandIn.Webhooks;

/// <summary>
/// Delivers each account's events to its webhook endpoints as Stripe does: signed, at least once, retried
/// with exponential backoff, in event order per account (unless the delivery knobs say otherwise). One
/// pump per account sends first attempts in order; retries run on their own.
/// </summary>
internal sealed class WebhookDispatcher(IOptions<StandInOptions> options, IHttpClientFactory httpClients, ILogger<WebhookDispatcher> logger, IHostApplicationLifetime lifetime)
{
    public const string HttpClientName = "webhooks";
    private readonly StandInOptions _options = options.Value;

    public void Start(Account account) => _ = Task.Run(() => PumpAsync(account));

    public void Enqueue(Account account, List<JsonObject> events)
    {
        if (events.Count > 0)
        {
            account.Outbox.Writer.TryWrite(new EventBatch(events, Released: false));
        }
    }

    /// <summary>Sends the held events (newest first when reorder is on).</summary>
    public int Release(Account account)
    {
        List<JsonObject> held;
        lock (account.Gate)
        {
            held = [.. account.Held];
            account.Held.Clear();
            if (account.Knobs.Reorder)
            {
                held.Reverse();
            }
        }
        account.Outbox.Writer.TryWrite(new EventBatch(held, Released: true));
        return held.Count;
    }

    /// <summary>Delivers one event again now to every endpoint that listens for it; returns the attempts.</summary>
    public async Task<List<JsonObject>> ResendAsync(Account account, JsonObject evt)
    {
        var endpoints = EndpointsFor(account, evt);
        var results = await Task.WhenAll(endpoints.Select(e => AttemptAsync(account, evt, e.Endpoint, e.Secret, attempt: 1, retry: false)));
        return [.. results];
    }

    private async Task PumpAsync(Account account)
    {
        var reader = account.Outbox.Reader;
        var stopping = lifetime.ApplicationStopping;
        try
        {
            while (await reader.WaitToReadAsync(stopping))
            {
                var batches = new List<EventBatch>();
                while (reader.TryRead(out var batch))
                {
                    batches.Add(batch);
                }
                DeliveryKnobs knobs;
                var toSend = new List<JsonObject>();
                lock (account.Gate)
                {
                    knobs = account.Knobs;
                    var fresh = batches.Where(b => !b.Released).SelectMany(b => b.Events).ToList();
                    if (knobs.Hold)
                    {
                        account.Held.AddRange(fresh);
                        fresh.Clear();
                    }
                    else if (knobs.Reorder)
                    {
                        fresh.Reverse();
                    }
                    toSend.AddRange(batches.Where(b => b.Released).SelectMany(b => b.Events));
                    toSend.AddRange(fresh);
                }
                foreach (var evt in toSend)
                {
                    try
                    {
                        await DeliverAsync(account, evt, knobs);
                    }
                    catch (Exception e) when (!stopping.IsCancellationRequested)
                    {
                        logger.LogError(e, "Delivering webhook {EventId} failed", evt["id"]);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            logger.LogError(e, "The webhook pump of an account stopped");
        }
    }

    private async Task DeliverAsync(Account account, JsonObject evt, DeliveryKnobs knobs)
    {
        var deliveries = new List<Task>();
        foreach (var (endpoint, secret) in EndpointsFor(account, evt))
        {
            for (var copy = 0; copy <= knobs.Duplicates; copy++)
            {
                deliveries.Add(Task.Run(async () =>
                {
                    if (knobs.DelayMs > 0)
                    {
                        await Task.Delay(knobs.DelayMs);
                    }
                    await AttemptAsync(account, evt, endpoint, secret, attempt: 1, retry: true);
                }));
            }
        }
        await Task.WhenAll(deliveries);
    }

    private static List<(JsonObject Endpoint, string Secret)> EndpointsFor(Account account, JsonObject evt)
    {
        var type = evt["type"]!.GetValue<string>();
        lock (account.Gate)
        {
            return [.. account.WebhookEndpoints.Values
                .Where(e => Account.Str(e, "status") == "enabled" && Account.Listens(e, type))
                .Select(e => (e, account.EndpointSecrets[Account.Id(e)]))];
        }
    }

    private async Task<JsonObject> AttemptAsync(Account account, JsonObject evt, JsonObject endpoint, string secret, int attempt, bool retry)
    {
        var url = Account.Str(endpoint, "url")!;
        string body;
        lock (account.Gate)
        {
            body = evt.ToJsonString();
        }
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var signature = Stripe.EventUtility.ComputeSignature(secret, timestamp, body);
        int? status = null;
        string? error = null;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url)
            {
                Content = new StringContent(body, Encoding.UTF8, "application/json"),
            };
            request.Headers.TryAddWithoutValidation("Stripe-Signature", $"t={timestamp},v1={signature}");
            request.Headers.TryAddWithoutValidation("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)");
            using var response = await httpClients.CreateClient(HttpClientName).SendAsync(request, lifetime.ApplicationStopping);
            status = (int)response.StatusCode;
        }
        catch (Exception e)
        {
            // Any failure (refused, timed out, a URL the client rejects) is a failed attempt, never the pump's end.
            error = e.Message;
        }
        var entry = new JsonObject
        {
            ["event_id"] = evt["id"]!.DeepClone(),
            ["type"] = evt["type"]!.DeepClone(),
            ["endpoint"] = Account.Id(endpoint),
            ["url"] = url,
            ["attempt"] = attempt,
            ["status"] = status,
            ["error"] = error,
            ["at"] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        };
        lock (account.Gate)
        {
            account.DeliveryLog.Add(entry);
        }
        var delivered = status is >= 200 and < 300;
        if (!delivered)
        {
            logger.LogWarning("Webhook {EventId} ({Type}) to {Url}, attempt {Attempt}: {Outcome}", evt["id"], evt["type"], url, attempt, status?.ToString(CultureInfo.InvariantCulture) ?? error);
        }
        if (!delivered && retry && attempt < _options.MaxDeliveryAttempts && !lifetime.ApplicationStopping.IsCancellationRequested)
        {
            var delay = TimeSpan.FromMilliseconds(_options.RetryBaseMilliseconds * Math.Pow(2, attempt - 1));
            _ = Task.Run(async () =>
            {
                try
                {
                    await Task.Delay(delay, lifetime.ApplicationStopping);
                    await AttemptAsync(account, evt, endpoint, secret, attempt + 1, retry: true);
                }
                catch (OperationCanceledException)
                {
                }
            });
        }
        return entry.DeepClone().AsObject();
    }
}
