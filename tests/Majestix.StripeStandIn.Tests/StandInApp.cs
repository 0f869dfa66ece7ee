using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Logging;
using Stripe;

namespace Majestix.StripeStandIn.Tests;

// The stand-in on a real Kestrel socket (dynamic port) and a webhook sink on another, as the billing
// feature will meet them. One per test class; every test uses its own random key (its own account).
public sealed class StandInApp : WebApplicationFactory<Program>, IAsyncLifetime
{
    public const int RetryBaseMilliseconds = 40;
    public const int MaxDeliveryAttempts = 4;

    private WebApplication? _sink;
    private readonly ConcurrentDictionary<string, Inbox> _inboxes = new();
    private readonly string _envFile = Path.Combine(Path.GetTempPath(), $"standin-{Guid.NewGuid():N}.env");

    public StandInApp()
    {
        UseKestrel();
        StartServer();
        Http = CreateClient();
        Http.Timeout = TimeSpan.FromSeconds(30);
    }

    public HttpClient Http { get; }

    public Uri BaseAddress => Http.BaseAddress!;

    public string EnvFile => _envFile;

    /// <summary>Where the sink listens: each inbox is a path under it.</summary>
    public Uri SinkAddress { get; private set; } = null!;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseUrls("http://127.0.0.1:0");
        builder.UseSetting("StandIn:RetryBaseMilliseconds", RetryBaseMilliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        builder.UseSetting("StandIn:MaxDeliveryAttempts", MaxDeliveryAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture));
        builder.UseSetting("StandIn:EnvFile", _envFile);
    }

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _sink = builder.Build();
        _sink.MapPost("/hooks/{name}", async (string name, HttpContext context) =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync();
            if (!_inboxes.TryGetValue(name, out var inbox))
            {
                return Results.NotFound();
            }
            return Results.StatusCode(inbox.Receive(body, context.Request.Headers["Stripe-Signature"].ToString(), context.Request.Headers.UserAgent.ToString(), context.Request.ContentType));
        });
        await _sink.StartAsync();
        SinkAddress = new Uri(_sink.Urls.First());
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        if (_sink is not null)
        {
            await _sink.DisposeAsync();
        }
        System.IO.File.Delete(_envFile);
        await base.DisposeAsync();
    }

    /// <summary>A fresh account: a random secret key nobody else uses.</summary>
    public TestAccount NewAccount() => new(this, $"sk_test_{Guid.NewGuid():N}");

    public TestAccount Account(string key) => new(this, key);

    public Inbox NewInbox()
    {
        var name = Guid.NewGuid().ToString("N");
        var inbox = new Inbox(new Uri(SinkAddress, $"/hooks/{name}"));
        _inboxes[name] = inbox;
        return inbox;
    }
}

/// <summary>One account's clients: Stripe.net for the API, a raw HttpClient for control endpoints and pages.</summary>
public sealed class TestAccount
{
    private readonly StandInApp _app;

    public TestAccount(StandInApp app, string key)
    {
        _app = app;
        Key = key;
        Stripe = new StripeClient(new StripeClientOptions { ApiKey = key, ApiBase = app.BaseAddress.ToString().TrimEnd('/') });
    }

    public string Key { get; }

    public StripeClient Stripe { get; }

    public CustomerService Customers => new(Stripe);
    public PriceService Prices => new(Stripe);
    public PaymentIntentService PaymentIntents => new(Stripe);
    public PaymentMethodService PaymentMethods => new(Stripe);
    public SubscriptionService Subscriptions => new(Stripe);
    public InvoiceService Invoices => new(Stripe);
    public ChargeService Charges => new(Stripe);
    public RefundService Refunds => new(Stripe);
    public EventService Events => new(Stripe);
    public WebhookEndpointService WebhookEndpoints => new(Stripe);
    public global::Stripe.Checkout.SessionService CheckoutSessions => new(Stripe);
    public global::Stripe.BillingPortal.SessionService PortalSessions => new(Stripe);

    /// <summary>A webhook endpoint of this account that delivers into a new inbox.</summary>
    public async Task<Inbox> ListenAsync(params string[] events)
    {
        var inbox = _app.NewInbox();
        var endpoint = await WebhookEndpoints.CreateAsync(new WebhookEndpointCreateOptions
        {
            Url = inbox.Url.ToString(),
            EnabledEvents = events.Length == 0 ? ["*"] : [.. events],
        });
        endpoint.Secret.ShouldStartWith("whsec_");
        inbox.Secret = endpoint.Secret;
        inbox.EndpointId = endpoint.Id;
        return inbox;
    }

    /// <summary>A recurring (interval month) or one-time price with its product.</summary>
    public Task<Price> PriceAsync(long cents, string? interval = "month", string name = "Plan", string? lookupKey = null) => Prices.CreateAsync(new PriceCreateOptions
    {
        Currency = "usd",
        LookupKey = lookupKey,
        UnitAmount = cents,
        Recurring = interval is null ? null : new PriceRecurringOptions { Interval = interval },
        ProductData = new PriceProductDataOptions { Name = name },
    });

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, object? json = null, bool authorize = true)
    {
        using var request = new HttpRequestMessage(method, path);
        if (authorize)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        }
        if (json is not null)
        {
            request.Content = JsonContent.Create(json);
        }
        return await _app.Http.SendAsync(request);
    }

    public async Task<JsonNode> ControlAsync(HttpMethod method, string path, object? json = null)
    {
        using var response = await SendAsync(method, path, json ?? new { });
        var text = await response.Content.ReadAsStringAsync();
        response.IsSuccessStatusCode.ShouldBeTrue($"{method} {path}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!;
    }

    /// <summary>A hosted page's button, as a script presses it (JSON answer instead of a redirect).</summary>
    public async Task<JsonObject> PressAsync(string path, params (string Name, string Value)[] fields)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(fields.Select(f => KeyValuePair.Create(f.Name, f.Value))) };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var response = await _app.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        response.IsSuccessStatusCode.ShouldBeTrue($"POST {path}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!.AsObject();
    }

    public Task<JsonObject> PayCheckoutAsync(string sessionId, string card = "4242424242424242", bool settlesLater = false) =>
        settlesLater
            ? PressAsync($"/checkout/{sessionId}/pay", ("card", card), ("async", "true"))
            : PressAsync($"/checkout/{sessionId}/pay", ("card", card));

    /// <summary>A paid subscription through Checkout (the way the app creates them).</summary>
    public async Task<Subscription> SubscribeAsync(Price price, string card = "4242424242424242", Dictionary<string, string>? metadata = null)
    {
        var session = await CheckoutSessions.CreateAsync(new global::Stripe.Checkout.SessionCreateOptions
        {
            Mode = "subscription",
            LineItems = [new() { Price = price.Id, Quantity = 1 }],
            SuccessUrl = "https://app.test/ok?session={CHECKOUT_SESSION_ID}",
            CancelUrl = "https://app.test/cancel",
            CustomerEmail = "someone@example.com",
            SubscriptionData = new global::Stripe.Checkout.SessionSubscriptionDataOptions { Metadata = metadata ?? new() { ["uid"] = "u1" } },
        });
        (await PayCheckoutAsync(session.Id, card))["status"]!.GetValue<string>().ShouldBe("complete");
        session = await CheckoutSessions.GetAsync(session.Id);
        return await Subscriptions.GetAsync(session.SubscriptionId);
    }
}

/// <summary>What one webhook endpoint received, verified the way the billing feature verifies it.</summary>
public sealed class Inbox(Uri url)
{
    private readonly List<Delivery> _received = [];
    private int _failuresLeft;

    public Uri Url { get; } = url;

    public string Secret { get; set; } = "";

    public string EndpointId { get; set; } = "";

    /// <summary>The next <paramref name="count"/> deliveries are answered with a 500.</summary>
    public void FailNext(int count) => Interlocked.Exchange(ref _failuresLeft, count);

    public sealed record Delivery(string Body, string Signature, string UserAgent, string? ContentType, int AnsweredWith)
    {
        public Event Event(string secret) => EventUtility.ConstructEvent(Body, Signature, secret, 300, throwOnApiVersionMismatch: true);
    }

    internal int Receive(string body, string signature, string userAgent, string? contentType)
    {
        var status = Interlocked.Decrement(ref _failuresLeft) >= 0 ? 500 : 200;
        lock (_received)
        {
            _received.Add(new Delivery(body, signature, userAgent, contentType, status));
        }
        return status;
    }

    public IReadOnlyList<Delivery> All
    {
        get
        {
            lock (_received)
            {
                return [.. _received];
            }
        }
    }

    /// <summary>The events answered with a 2xx, verified and parsed, in arrival order.</summary>
    public List<Event> Accepted => [.. All.Where(d => d.AnsweredWith == 200).Select(d => d.Event(Secret))];

    public async Task<List<Event>> WaitForAsync(Func<List<Event>, bool> done, int timeoutMs = 10_000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (true)
        {
            var events = Accepted;
            if (done(events))
            {
                return events;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Webhooks received so far: {string.Join(", ", All.Select(d => $"{d.AnsweredWith}:{Type(d.Body)}"))}");
            }
            await Task.Delay(20);
        }
    }

    public Task<List<Event>> WaitForTypesAsync(params string[] types) =>
        WaitForAsync(events => types.All(t => events.Any(e => e.Type == t)));

    private static string Type(string body) => JsonNode.Parse(body)?["type"]?.GetValue<string>() ?? "?";
}

