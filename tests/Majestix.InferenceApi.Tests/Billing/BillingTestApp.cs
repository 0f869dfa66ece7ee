using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Majestix.InferenceApi.Billing;
using Majestix.InferenceApi.Credits;
using Majestix.InferenceApi.Tests.Credits;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace Majestix.InferenceApi.Tests.Billing;

/// <summary>
/// inference-api billing through its own account of the local Stripe. The app calls the stand-in as it would Stripe;
/// the test takes the events Stripe made (<c>/v1/events</c>) and delivers them signed, so it chooses how often, in what
/// order and to which instance each arrives (the stand-in's own deliveries are covered by its tests and one end-to-end test).
/// </summary>
internal sealed class BillingTestApp : IAsyncDisposable
{
    private readonly TimeProvider _clock;

    private BillingTestApp(InferenceApiApplication app, WebApplicationFactory<Program> host, StripeAccount stripe, TimeProvider clock)
    {
        App = app;
        Host = host;
        Stripe = stripe;
        _clock = clock;
    }

    public InferenceApiApplication App { get; }

    /// <summary>The app as it runs (<see cref="App"/>, or it with a Firestore probe in its pipeline).</summary>
    public WebApplicationFactory<Program> Host { get; }

    public StripeAccount Stripe { get; }

    public static async Task<BillingTestApp> StartAsync(PlatformFixture platform, Isolation? isolation = null, StripeAccount? stripe = null,
        Dictionary<string, string?>? settings = null, FirestoreProbe? probe = null, TimeProvider? clock = null)
    {
        stripe ??= await platform.Stripe.NewAccountAsync();
        var values = stripe.Settings();
        foreach (var (key, value) in settings ?? [])
        {
            values[key] = value;
        }
        var app = new InferenceApiApplication(platform, isolation, values);
        var host = probe is null ? app : probe.Attach(app);
        if (clock is not null)
        {
            host = host.WithWebHostBuilder(web => web.ConfigureTestServices(services => services.AddSingleton(clock)));
        }
        return new BillingTestApp(app, host, stripe, clock ?? TimeProvider.System);
    }

    public T Service<T>()
        where T : notnull => Host.Services.GetRequiredService<T>();

    public HttpClient WebClient(string userId) => Host.WebClient(App, userId);

    /// <summary>Posts an event as Stripe does: the raw JSON, signed with <paramref name="secret"/> at <paramref name="signedAt"/>.</summary>
    public async Task<HttpResponseMessage> DeliverAsync(string json, string secret = StripeAccount.WebhookSecret, DateTimeOffset? signedAt = null,
        WebApplicationFactory<Program>? to = null)
    {
        using var client = (to ?? Host).CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/billing/webhook") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("Stripe-Signature", SignatureHeader(json, [secret], signedAt ?? _clock.GetUtcNow()));
        return await client.SendAsync(request);
    }

    public static string SignatureHeader(string json, IEnumerable<string> secrets, DateTimeOffset signedAt)
    {
        var timestamp = signedAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var signatures = secrets.Select(secret =>
            "v1=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{timestamp}.{json}"))));
        return $"t={timestamp},{string.Join(',', signatures)}";
    }

    /// <summary>Delivers each event not delivered before, oldest first, <paramref name="times"/> times each; every delivery must be 200.</summary>
    public async Task<IReadOnlyList<StripeEventJson>> DeliverNewEventsAsync(int times = 1, bool newestFirst = false)
    {
        var events = await Stripe.NewEventsAsync();
        foreach (var stripeEvent in newestFirst ? events.Reverse() : events)
        {
            for (var i = 0; i < times; i++)
            {
                using var response = await DeliverAsync(stripeEvent.Json);
                response.StatusCode.ShouldBe(HttpStatusCode.OK, $"{stripeEvent.Type}: {await response.Content.ReadAsStringAsync()}");
            }
        }
        return events;
    }

    /// <summary>Buys a plan through the API and the hosted checkout page; returns the subscription id (the events are not delivered).</summary>
    public async Task<string> SubscribeAsync(string userId, string plan, string card = "4242424242424242")
    {
        var url = await CheckoutUrlAsync(userId, "/billing/checkout", new { plan });
        (await Stripe.PayCheckoutAsync(url, card)).ShouldBe("complete");
        var session = await Stripe.Client.V1.Checkout.Sessions.GetAsync(SessionIdOf(url));
        return session.SubscriptionId;
    }

    /// <summary>Buys a top-up through the API and the hosted checkout page; returns the checkout session id (the events are not delivered).</summary>
    public async Task<string> BuyTopupAsync(string userId, string tier, string card = "4242424242424242", bool settlesLater = false)
    {
        var url = await CheckoutUrlAsync(userId, "/billing/topup", new { tier });
        (await Stripe.PayCheckoutAsync(url, card, settlesLater)).ShouldBe(settlesLater ? "processing" : "complete");
        return SessionIdOf(url);
    }

    public async Task<string> CheckoutUrlAsync(string userId, string path, object body)
    {
        using var client = WebClient(userId);
        using var response = await client.PostAsJsonAsync(path, body);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("checkout_url").GetString()!;
    }

    public async Task<string> PortalUrlAsync(string userId)
    {
        using var client = WebClient(userId);
        using var response = await client.PostAsync("/billing/portal", null);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("portal_url").GetString()!;
    }

    public static string SessionIdOf(string checkoutUrl) => checkoutUrl.TrimEnd('/').Split('/')[^1];

    public async Task<JsonElement> GetJsonAsync(string userId, string path)
    {
        using var client = WebClient(userId);
        using var response = await client.GetAsync(path);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public Task<JsonElement> BillingAsync(string userId) => GetJsonAsync(userId, "/billing");

    public Task<JsonElement> UsageAsync(string userId) => GetJsonAsync(userId, "/usage/me");

    public Task<CreditBalance> BalanceAsync(string userId) => Service<CreditStore>().GetBalanceAsync(userId);

    public Task<IReadOnlyList<LedgerEntry>> LedgerAsync(string userId) => Host.LedgerAsync(userId);

    public Task<BillingAccount?> AccountAsync(string userId) => Service<BillingStore>().GetAccountAsync(userId, CancellationToken.None);

    /// <summary>Spends <paramref name="credits"/> as a model call would: held, then settled at that cost.</summary>
    public async Task SpendAsync(string userId, long credits)
    {
        var store = Service<CreditStore>();
        var units = CreditUnits.FromWholeCredits(credits);
        var hold = await store.ReserveAsync(userId, units);
        hold.Status.ShouldBe(ReserveStatus.Reserved);
        (await store.SettleAsync(hold.Reservation!, units)).Status.ShouldBe(SettleStatus.Settled);
    }

    public static long Units(long credits) => CreditUnits.FromWholeCredits(credits);

    public async ValueTask DisposeAsync()
    {
        if (!ReferenceEquals(Host, App))
        {
            await Host.DisposeAsync();
        }
        await App.DisposeAsync();
    }
}
