using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Majestix.GoogleCloud.Firestore;
using Majestix.GoogleCloud.PubSub;
using Majestix.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Majestix.InferenceApi.Tests;

/// <summary>Which Firestore project, Pub/Sub project and Redis key prefix an app instance uses.</summary>
public sealed record Isolation(string ProjectId, string KeyPrefix)
{
    public static Isolation New() => new(TestIsolation.NewProjectId("api"), TestIsolation.NewKeyPrefix("api"));
}

/// <summary>
/// inference-api against the shared real Redis and emulators. Each instance gets its own Firestore
/// project and Redis key prefix unless a test passes one <see cref="Isolation"/> to two instances to
/// play two hosts of one deployment.
/// </summary>
public sealed class InferenceApiApplication(PlatformFixture platform, Isolation? isolation = null, IReadOnlyDictionary<string, string?>? settings = null)
    : WebApplicationFactory<Program>
{
    public const string AuditSubscription = "audit-events-tests";

    public Isolation Isolation { get; } = isolation ?? Isolation.New();

    public PlatformFixture Platform => platform;

    public TestIdentityIssuer Issuer => platform.Issuer;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        var upstream = platform.MockUpstream.BaseUrl.ToString().TrimEnd('/');
        var values = new Dictionary<string, string?>
        {
            ["GOOGLE_CLOUD_PROJECT"] = Isolation.ProjectId,
            ["Firestore:ProjectId"] = Isolation.ProjectId,
            ["Firestore:EmulatorHost"] = platform.Firestore.EmulatorHost,
            ["PubSub:ProjectId"] = Isolation.ProjectId,
            ["PubSub:EmulatorHost"] = platform.PubSub.EmulatorHost,
            ["ConnectionStrings:redis"] = platform.Redis.ConnectionString,
            ["Redis:KeyPrefix"] = Isolation.KeyPrefix,
            ["Identity:FirebaseProjectId"] = TestIdentityIssuer.ProjectId,
            ["Identity:FirebaseProjectNumber"] = TestIdentityIssuer.ProjectNumber,
            ["Identity:FirebaseKeysUrl"] = $"{platform.Issuer.BaseUrl}/keys/firebase",
            ["Identity:AppCheckKeysUrl"] = $"{platform.Issuer.BaseUrl}/keys/appcheck",
            ["Identity:GoogleKeysUrl"] = $"{platform.Issuer.BaseUrl}/keys/google",
            ["Identity:InternalAudience"] = TestIdentityIssuer.InternalAudience,
            ["Identity:InternalServiceAccounts:0"] = TestIdentityIssuer.ExecutorAccount,
            ["AUDIT_IP_HASH_SALT"] = "test-salt-0123456789abcdef",
            ["FERNET_KEYS"] = "bWFqZXN0aXgtdGVzdC1vbmx5LWZlcm5ldC1rZXkhISE=",
            ["RateLimits:TrustedProxyCount"] = "0",
            // Production's 500 ms is about a Redis next door; a loaded 2-core test machine needs slack.
            // The outage tests set it back to the production value.
            ["Redis:CommandTimeoutMilliseconds"] = "5000",
            ["Providers:OpenAI:BaseUrl"] = $"{upstream}/v1",
            ["Providers:OpenAI:ApiKey"] = "sk-test-openai",
            ["Providers:OpenRouter:BaseUrl"] = $"{upstream}/api/v1",
            ["Providers:OpenRouter:ApiKey"] = "sk-test-openrouter",
            ["Providers:Anthropic:BaseUrl"] = upstream,
            ["Providers:Anthropic:ApiKey"] = "sk-test-anthropic",
            ["Providers:Vertex:BaseUrl"] = upstream,
            ["Providers:Vertex:ProjectId"] = "majestix-test",
            ["Providers:Vertex:StaticAccessToken"] = "ya29.test-token",
            // Billing through an account of the local Stripe that no test pays on; billing tests pass their own account's settings.
            ["STRIPE_API_BASE"] = platform.Stripe.BaseUrl.ToString().TrimEnd('/'),
            ["STRIPE_SECRET_KEY"] = "sk_test_unused",
            ["STRIPE_WEBHOOK_SECRET"] = "whsec_unused",
            ["STRIPE_GURU_PRICE_ID"] = "price_unusedGuru",
            ["STRIPE_PRO_PRICE_ID"] = "price_unusedPro",
            ["STRIPE_TOPUP_5_PRICE_ID"] = "price_unusedTopup5",
            ["STRIPE_TOPUP_25_PRICE_ID"] = "price_unusedTopup25",
            ["STRIPE_TOPUP_100_PRICE_ID"] = "price_unusedTopup100",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            values[key] = value;
        }
        foreach (var (key, value) in values)
        {
            builder.UseSetting(key, value);
        }
    }

    public FirestoreClient Firestore => Services.GetRequiredService<FirestoreClient>();

    public IDatabase Redis => Services.GetRequiredService<IDatabase>();

    /// <summary>Creates the audit topic and a pull subscription; call before the app publishes.</summary>
    public async Task CreateAuditSubscriptionAsync()
    {
        var pubSub = Services.GetRequiredService<PubSubClient>();
        await pubSub.CreateTopicAsync("audit-events");
        await pubSub.CreatePullSubscriptionAsync(AuditSubscription, "audit-events");
    }

    /// <summary>Flushes the publisher and pulls every audit event published so far.</summary>
    public async Task<List<JsonElement>> PullAuditEventsAsync()
    {
        await Services.GetRequiredService<PubSubPublisher>().FlushAsync();
        var pubSub = Services.GetRequiredService<PubSubClient>();
        var events = new List<JsonElement>();
        // The emulator holds an empty pull open; a short deadline per pull ends the drain.
        while (true)
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            IReadOnlyList<PubSubReceivedMessage> messages;
            try
            {
                messages = await pubSub.PullAsync(AuditSubscription, 1000, deadline.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            if (messages.Count == 0)
            {
                break;
            }
            events.AddRange(messages.Select(m => JsonDocument.Parse(m.GetDataAsString()).RootElement.Clone()));
            await pubSub.AcknowledgeAsync(AuditSubscription, messages.Select(m => m.AckId));
        }
        return events;
    }

    public Task SeedUserAsync(string userId, string plan) =>
        Firestore.SetAsync($"users/{userId}", new Dictionary<string, FirestoreValue> { ["plan"] = plan, ["uid"] = userId });

    public HttpClient WebClient(string userId, bool admin = false)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer",
            Issuer.Tokens.FirebaseIdToken(userId, $"{userId}@example.com", admin, TimeSpan.FromHours(1)));
        client.DefaultRequestHeaders.Add("X-Firebase-AppCheck", Issuer.Tokens.AppCheckToken(TestIdentityIssuer.AppId, TimeSpan.FromHours(1)));
        return client;
    }

    public HttpClient KeyClient(string apiKey)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        return client;
    }

    public HttpClient BearerClient(string token)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    /// <summary>
    /// Writes a key record straight to Firestore, so tests of per-user limits start from zero requests
    /// (creating it through the API would count against the user).
    /// </summary>
    public async Task<(string KeyId, string ApiKey)> SeedKeyAsync(string userId)
    {
        var apiKey = "inf_" + Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var keyId = "key_" + Guid.NewGuid().ToString("N")[..20];
        var now = DateTimeOffset.UtcNow;
        await Firestore.SetAsync($"api_keys/{keyId}", new Keys.ApiKeyRecord(keyId, userId, "seeded", apiKey[..12],
            Keys.ApiKeyStore.Hash(apiKey), "active", now, now.AddDays(90), null), AppJson.Default.ApiKeyRecord);
        return (keyId, apiKey);
    }

    /// <summary>Creates a key through the public API, as a signed-in user would; returns (key id, raw key).</summary>
    public async Task<(string KeyId, string ApiKey)> CreateKeyAsync(string userId, string? name = null)
    {
        using var client = WebClient(userId);
        using var response = await client.PostAsJsonAsync("/api-keys", new { name });
        response.EnsureSuccessStatusCode();
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (body.RootElement.GetProperty("key_id").GetString()!, body.RootElement.GetProperty("api_key").GetString()!);
    }
}
