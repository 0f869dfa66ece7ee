using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace Majestix.StripeStandIn.Core;

/// <summary>
/// Everything one secret key owns. Every read and change happens under <see cref="Gate"/>; events raised
/// while it is held are collected in <see cref="TakeRaised"/> order and handed to delivery after it is released.
/// </summary>
internal sealed partial class Account(string key, PublicUrl publicUrl)
{
    public string Key { get; } = key;

    public string PublicUrl => publicUrl.Value;

    public Lock Gate { get; } = new();

    public Dictionary<string, JsonObject> Customers { get; } = [];
    public Dictionary<string, JsonObject> Products { get; } = [];
    public Dictionary<string, JsonObject> Prices { get; } = [];
    public Dictionary<string, JsonObject> CheckoutSessions { get; } = [];
    public Dictionary<string, JsonObject> PortalSessions { get; } = [];
    public Dictionary<string, JsonObject> PaymentIntents { get; } = [];
    public Dictionary<string, JsonObject> PaymentMethods { get; } = [];
    public Dictionary<string, JsonObject> Charges { get; } = [];
    public Dictionary<string, JsonObject> Refunds { get; } = [];
    public Dictionary<string, JsonObject> Subscriptions { get; } = [];
    public Dictionary<string, JsonObject> Invoices { get; } = [];
    public Dictionary<string, JsonObject> WebhookEndpoints { get; } = [];
    public Dictionary<string, JsonObject> Events { get; } = [];

    /// <summary>The card number behind each payment method: it decides every payment's outcome.</summary>
    public Dictionary<string, string> CardNumbers { get; } = [];

    /// <summary>Consecutive failed renewals per subscription (the third makes it unpaid).</summary>
    public Dictionary<string, int> FailedRenewals { get; } = [];

    /// <summary>The PaymentIntent a checkout session's attempts use, before the session completes.</summary>
    public Dictionary<string, string> SessionIntents { get; } = [];

    /// <summary>Line items of each checkout session (price id, quantity).</summary>
    public Dictionary<string, (string Price, long Quantity)> SessionLines { get; } = [];

    /// <summary>Webhook endpoint secrets (returned only by the create call).</summary>
    public Dictionary<string, string> EndpointSecrets { get; } = [];

    public Dictionary<string, IdempotentRequest> Idempotency { get; } = [];

    public DeliveryKnobs Knobs { get; set; } = new();

    /// <summary>Events held by the hold knob, oldest first.</summary>
    public List<JsonObject> Held { get; } = [];

    public List<JsonObject> DeliveryLog { get; } = [];

    /// <summary>Batches of events (one per request) waiting for the delivery pump.</summary>
    public Channel<EventBatch> Outbox { get; } = Channel.CreateUnbounded<EventBatch>(new UnboundedChannelOptions { SingleReader = true });

    private readonly List<JsonObject> _raised = [];

    /// <summary>
    /// Records an event with a snapshot of <paramref name="obj"/>; it is delivered after the request. With
    /// <paramref name="before"/> (a snapshot taken before the change), `data.previous_attributes` holds the
    /// old values of the top-level fields that changed, as Stripe's `*.updated` events do.
    /// </summary>
    public JsonObject Emit(string type, JsonObject obj, JsonObject? before = null)
    {
        var endpoints = WebhookEndpoints.Values.Count(e => Listens(e, type));
        var evt = new JsonObject
        {
            ["id"] = Ids.New("evt_"),
            ["object"] = "event",
            ["api_version"] = Stripe.StripeConfiguration.ApiVersion,
            ["created"] = Ids.Now(),
            ["data"] = before is null
                ? new JsonObject { ["object"] = obj.DeepClone() }
                : new JsonObject { ["object"] = obj.DeepClone(), ["previous_attributes"] = Changed(before, obj) },
            ["livemode"] = false,
            ["pending_webhooks"] = endpoints,
            ["request"] = new JsonObject { ["id"] = null, ["idempotency_key"] = null },
            ["type"] = type,
        };
        Events[evt["id"]!.GetValue<string>()] = evt;
        _raised.Add(evt);
        return evt;
    }

    private static JsonObject Changed(JsonObject before, JsonObject after)
    {
        var previous = new JsonObject();
        foreach (var (key, value) in before)
        {
            if (!JsonNode.DeepEquals(value, after[key]))
            {
                previous[key] = value?.DeepClone();
            }
        }
        return previous;
    }

    public static bool Listens(JsonObject endpoint, string type) =>
        endpoint["enabled_events"]!.AsArray().Any(e => e!.GetValue<string>() is "*" || e.GetValue<string>() == type);

    /// <summary>The events raised since the last call (under the gate).</summary>
    public List<JsonObject> TakeRaised()
    {
        var raised = _raised.ToList();
        _raised.Clear();
        return raised;
    }

    public void Reset()
    {
        foreach (var store in new[] { Customers, Products, Prices, CheckoutSessions, PortalSessions, PaymentIntents, PaymentMethods, Charges, Refunds, Subscriptions, Invoices, WebhookEndpoints, Events })
        {
            store.Clear();
        }
        CardNumbers.Clear();
        FailedRenewals.Clear();
        SessionIntents.Clear();
        SessionLines.Clear();
        EndpointSecrets.Clear();
        Idempotency.Clear();
        Held.Clear();
        DeliveryLog.Clear();
        Knobs = new DeliveryKnobs();
        _raised.Clear();
    }

    public static JsonObject Get(Dictionary<string, JsonObject> store, string id, string what, string? param = null) =>
        store.TryGetValue(id, out var found) ? found : throw StripeFault.NoSuch(what, id, param);
}

/// <summary>The delivery knobs of PUT /_stand-in/delivery.</summary>
internal sealed record DeliveryKnobs(int Duplicates = 0, int DelayMs = 0, bool Reorder = false, bool Hold = false);

/// <summary>Events to deliver; a released batch is already in its delivery order and bypasses the hold.</summary>
internal sealed record EventBatch(List<JsonObject> Events, bool Released);

/// <summary>The first request with an Idempotency-Key: later ones wait for its reply and replay it.</summary>
internal sealed class IdempotentRequest(string fingerprint)
{
    public string Fingerprint { get; } = fingerprint;

    public TaskCompletionSource<Reply> Reply { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
