using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Majestix.Testing;
using Stripe;

namespace Majestix.InferenceApi.Tests.Billing;

/// <summary>
/// The local Stripe (tools/Majestix.StripeStandIn) as a real process on a free loopback port. Every secret key is its own
/// account there, so each test makes one (<see cref="NewAccountAsync"/>) with the five prices and shares nothing.
/// </summary>
public sealed class StripeStandInFixture : IAsyncLifetime
{
    private ExternalProcess? _process;

    public Uri BaseUrl { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        BaseUrl = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        _process = ExternalProcess.Start("dotnet",
            [ToolDll.Locate("Majestix.StripeStandIn", typeof(StripeStandInFixture).Assembly), "--urls", BaseUrl.ToString().TrimEnd('/')], "stripe stand-in",
            new Dictionary<string, string> { ["StandIn__RetryBaseMilliseconds"] = "200", ["StandIn__MaxDeliveryAttempts"] = "4" });
        using var probe = new HttpClient { BaseAddress = BaseUrl };
        await _process.WaitUntilReadyAsync(
            async token => (await probe.GetAsync(new Uri("/health", UriKind.Relative), token)).IsSuccessStatusCode,
            TimeSpan.FromSeconds(30));
    }

    public Task DisposeAsync()
    {
        _process?.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>A fresh account (its own secret key) with Guru, Pro and the three top-up prices.</summary>
    public async Task<StripeAccount> NewAccountAsync()
    {
        var key = "sk_test_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
        var client = new StripeClient(new StripeClientOptions { ApiKey = key, ApiBase = BaseUrl.ToString().TrimEnd('/') });
        async Task<string> PriceAsync(long cents, bool monthly, string name) => (await client.V1.Prices.CreateAsync(new PriceCreateOptions
        {
            Currency = "usd",
            UnitAmount = cents,
            Recurring = monthly ? new PriceRecurringOptions { Interval = "month" } : null,
            ProductData = new PriceProductDataOptions { Name = name },
        })).Id;
        return new StripeAccount(BaseUrl, key, client,
            await PriceAsync(1_000, true, "Guru"), await PriceAsync(5_000, true, "Pro"),
            await PriceAsync(500, false, "5,000 credits"), await PriceAsync(2_500, false, "27,500 credits"), await PriceAsync(10_000, false, "125,000 credits"));
    }
}

/// <summary>One stand-in account: its Stripe.net client, its prices, and the stand-in's hosted pages and control endpoints.</summary>
public sealed class StripeAccount(Uri baseUrl, string secretKey, StripeClient client, string guru, string pro, string topup5, string topup25, string topup100)
{
    public const string WebhookSecret = "whsec_billing_tests_0123456789";

    private readonly HttpClient _http = new() { BaseAddress = baseUrl, DefaultRequestHeaders = { Authorization = new AuthenticationHeaderValue("Bearer", secretKey) } };
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);

    public StripeClient Client => client;

    public string SecretKey => secretKey;

    public string GuruPriceId => guru;

    public string ProPriceId => pro;

    /// <summary>What inference-api needs to bill through this account.</summary>
    public Dictionary<string, string?> Settings(string webhookSecret = WebhookSecret) => new()
    {
        ["STRIPE_API_BASE"] = baseUrl.ToString().TrimEnd('/'),
        ["STRIPE_SECRET_KEY"] = secretKey,
        ["STRIPE_WEBHOOK_SECRET"] = webhookSecret,
        ["STRIPE_GURU_PRICE_ID"] = guru,
        ["STRIPE_PRO_PRICE_ID"] = pro,
        ["STRIPE_TOPUP_5_PRICE_ID"] = topup5,
        ["STRIPE_TOPUP_25_PRICE_ID"] = topup25,
        ["STRIPE_TOPUP_100_PRICE_ID"] = topup100,
    };

    /// <summary>Pays a checkout on its hosted page with a test card, as the page's button does; returns the page's status.</summary>
    public async Task<string> PayCheckoutAsync(string checkoutUrl, string card = "4242424242424242", bool settlesLater = false)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, checkoutUrl.TrimEnd('/') + "/pay")
        {
            Content = JsonContent.Create(new Dictionary<string, object> { ["card"] = card, ["async"] = settlesLater }),
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var response = await _http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        using var document = JsonDocument.Parse(body);
        return document.RootElement.GetProperty("status").GetString()!;
    }

    /// <summary>Settles an asynchronously paid checkout (<c>succeeded</c> or <c>failed</c>).</summary>
    public async Task SettleAsyncPaymentAsync(string checkoutUrl, string outcome)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, checkoutUrl.TrimEnd('/') + "/async")
        {
            Content = JsonContent.Create(new { outcome }),
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        (await _http.SendAsync(request)).EnsureSuccessStatusCode();
    }

    /// <summary>A button of the hosted portal page: <c>cancel</c>, <c>switch</c> (price), <c>card</c> (card number).</summary>
    public async Task PortalAsync(string portalUrl, string action, object? body = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, portalUrl.TrimEnd('/') + "/" + action) { Content = JsonContent.Create(body ?? new { }) };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var response = await _http.SendAsync(request);
        response.IsSuccessStatusCode.ShouldBeTrue(await response.Content.ReadAsStringAsync());
    }

    /// <summary>Moves a subscription's clock to its period end: the renewal is charged to its card.</summary>
    public async Task AdvanceAsync(string subscriptionId, bool exhaustRetries = false) =>
        (await _http.PostAsJsonAsync($"/_stand-in/subscriptions/{subscriptionId}/advance", new { exhaust_retries = exhaustRetries })).EnsureSuccessStatusCode();

    public async Task PayLatestInvoiceAsync(string subscriptionId) =>
        (await _http.PostAsJsonAsync($"/_stand-in/subscriptions/{subscriptionId}/pay-latest", new { })).EnsureSuccessStatusCode();

    /// <summary>Replaces the customer's card (renewals and off-session charges use it).</summary>
    public async Task SetCardAsync(string customerId, string card) =>
        (await _http.PostAsJsonAsync($"/_stand-in/customers/{customerId}/card", new { card })).EnsureSuccessStatusCode();

    /// <summary>The stand-in's delivery knobs: extra copies of each delivery, a delay, holding events back, newest first.</summary>
    public async Task SetDeliveryAsync(int duplicates = 0, int delayMs = 0, bool reorder = false, bool hold = false) =>
        (await _http.PutAsJsonAsync("/_stand-in/delivery", new { duplicates, delay_ms = delayMs, reorder, hold })).EnsureSuccessStatusCode();

    /// <summary>Sends the events held back (newest first when reordering).</summary>
    public async Task ReleaseDeliveriesAsync() =>
        (await _http.PostAsync(new Uri("/_stand-in/delivery/release", UriKind.Relative), null)).EnsureSuccessStatusCode();

    /// <summary>The stand-in's log of webhook deliveries: (event type, HTTP status) of each attempt.</summary>
    public async Task<IReadOnlyList<(string Type, int Status)>> DeliveriesAsync()
    {
        using var document = JsonDocument.Parse(await _http.GetStringAsync(new Uri("/_stand-in/deliveries", UriKind.Relative)));
        return [.. document.RootElement.EnumerateArray().Select(d => (d.GetProperty("type").GetString()!,
            d.TryGetProperty("status", out var status) && status.ValueKind == JsonValueKind.Number ? status.GetInt32() : 0))];
    }

    /// <summary>The account's events as Stripe would deliver them (raw JSON), oldest first.</summary>
    public async Task<IReadOnlyList<StripeEventJson>> EventsAsync()
    {
        using var document = JsonDocument.Parse(await _http.GetStringAsync(new Uri("/v1/events?limit=100", UriKind.Relative)));
        return [.. document.RootElement.GetProperty("data").EnumerateArray()
            .Select(e => new StripeEventJson(e.GetProperty("id").GetString()!, e.GetProperty("type").GetString()!, e.GetRawText()))
            .Reverse()];
    }

    /// <summary>The events not returned by an earlier call, oldest first.</summary>
    public async Task<IReadOnlyList<StripeEventJson>> NewEventsAsync() => [.. (await EventsAsync()).Where(e => _seen.Add(e.Id))];

    /// <summary>The auto top-up payment intents Stripe made (success or failure), from their events: each id once.</summary>
    public async Task<IReadOnlyList<string>> AutoTopupIntentsAsync() =>
        [.. (await EventsAsync()).Where(e => e.Type.StartsWith("payment_intent.", StringComparison.Ordinal)).Select(e => e.DataObject)
            .Where(intent => intent.TryGetProperty("metadata", out var metadata) && metadata.TryGetProperty("kind", out var kind) && kind.GetString() == "auto_topup")
            .Select(intent => intent.GetProperty("id").GetString()!).Distinct()];
}

public sealed record StripeEventJson(string Id, string Type, string Json)
{
    /// <summary>The event's <c>data.object</c>.</summary>
    public JsonElement DataObject => JsonDocument.Parse(Json).RootElement.GetProperty("data").GetProperty("object").Clone();
}
