using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Majestix.GoogleCloud.Firestore;
using Majestix.GoogleCloud.PubSub;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Majestix.DevIdentity;

/// <summary>
/// Gives a fresh dev stack its identities: the Pub/Sub topics the services publish to, a Pro and a
/// Free user with one API key each, an admin, and the env file that hands all of it to a shell.
/// Raw API keys are kept in the state directory so they stay the same across restarts; the
/// emulators start empty every time, so the records are written again on each start.
/// </summary>
internal sealed class DevSeeder(
    FirestoreClient firestore,
    PubSubClient pubSub,
    DevTokenIssuer tokens,
    IOptions<DevIdentityOptions> options,
    TimeProvider time,
    ILogger<DevSeeder> logger) : BackgroundService, IHealthCheck
{
    public static readonly string[] Topics = ["usage-events", "audit-events"];
    public static readonly DevUser[] Users =
    [
        new("dev-pro-user", "pro@dev.majestix.local", "pro", Admin: false, EnvPrefix: "PRO"),
        new("dev-free-user", "free@dev.majestix.local", "free", Admin: false, EnvPrefix: "FREE"),
        new("dev-admin", "admin@dev.majestix.local", "pro", Admin: true, EnvPrefix: "ADMIN"),
    ];
    private static readonly TimeSpan KeyLifetime = TimeSpan.FromDays(90);

    private volatile bool _seeded;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_seeded || !options.Value.Seed ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("seeding"));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Seed)
        {
            return;
        }
        var delay = TimeSpan.FromMilliseconds(250);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await SeedAsync(stoppingToken);
                _seeded = true;
                logger.LogInformation("Dev stack seeded; env file at {EnvFile}", EnvFilePath);
                return;
            }
            catch (Exception exception) when (exception is HttpRequestException or FirestoreException or PubSubException or TaskCanceledException && !stoppingToken.IsCancellationRequested)
            {
                // The emulators answer health checks a moment before they accept writes.
                logger.LogWarning(exception, "Seeding failed, retrying in {Delay}", delay);
                await Task.Delay(delay, time, stoppingToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    private string EnvFilePath => Path.Combine(options.Value.StateDirectory, "env");

    private async Task SeedAsync(CancellationToken cancellationToken)
    {
        foreach (var topic in Topics)
        {
            await pubSub.CreateTopicAsync(topic, cancellationToken);
            // A pull subscription per topic so a developer can read what the services published.
            await pubSub.CreatePullSubscriptionAsync($"{topic}-dev", topic, cancellationToken: cancellationToken);
        }

        var now = time.GetUtcNow();
        var apiKeys = LoadOrCreateApiKeys();
        var env = new List<(string Name, string Value)>(options.Value.Endpoints.Select(e => (e.Key, e.Value)));
        var tokenLifetime = TimeSpan.FromHours(options.Value.SeededTokenLifetimeHours);
        foreach (var user in Users)
        {
            var cycleStart = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero);
            await firestore.SetAsync($"users/{user.Uid}",
                new UserRecord(user.Uid, user.Email, user.Plan, user.Admin, now, cycleStart, cycleStart.AddMonths(1)),
                SeedJson.Default.UserRecord, cancellationToken: cancellationToken);

            env.Add(($"{user.EnvPrefix}_USER_ID", user.Uid));
            env.Add(($"{user.EnvPrefix}_ID_TOKEN", tokens.FirebaseIdToken(user.Uid, user.Email, user.Admin, tokenLifetime)));
            env.Add(($"{user.EnvPrefix}_APPCHECK_TOKEN", tokens.AppCheckToken(null, tokenLifetime)));

            if (apiKeys.TryGetValue(user.Uid, out var apiKey))
            {
                await firestore.SetAsync($"api_keys/{apiKey.KeyId}",
                    new ApiKeyRecord(apiKey.KeyId, user.Uid, "Dev key", apiKey.ApiKey[..12], Sha256Hex(apiKey.ApiKey),
                        "active", now, now.Add(KeyLifetime), LastUsedAt: null),
                    SeedJson.Default.ApiKeyRecord, cancellationToken: cancellationToken);
                env.Add(($"{user.EnvPrefix}_API_KEY", apiKey.ApiKey));
            }
        }

        var text = new StringBuilder("# Written by dev-identity at start-up; source it: . .majestix/dev/env\n");
        foreach (var (name, value) in env)
        {
            text.Append("export ").Append(name).Append("='").Append(value.Replace("'", "", StringComparison.Ordinal)).Append("'\n");
        }
        StateFiles.WriteAtomically(EnvFilePath, text.ToString(), ownerOnly: true);
    }

    // Only the Pro and Free users get keys: the admin acts through the web identity.
    private Dictionary<string, SeededApiKey> LoadOrCreateApiKeys()
    {
        var path = Path.Combine(options.Value.StateDirectory, "api-keys.json");
        var keys = File.Exists(path)
            ? JsonSerializer.Deserialize(File.ReadAllText(path), DevIdentityJson.Default.DictionaryStringSeededApiKey) ?? []
            : [];
        var changed = false;
        foreach (var user in Users.Where(u => !u.Admin))
        {
            if (!keys.ContainsKey(user.Uid))
            {
                keys[user.Uid] = new SeededApiKey(
                    $"key_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}",
                    "inf_" + Base64Url(RandomNumberGenerator.GetBytes(32)));
                changed = true;
            }
        }
        if (changed)
        {
            StateFiles.WriteAtomically(path, JsonSerializer.Serialize(keys, DevIdentityJson.Default.DictionaryStringSeededApiKey), ownerOnly: true);
        }
        return keys;
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string Sha256Hex(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));
}

internal sealed record DevUser(string Uid, string Email, string Plan, bool Admin, string EnvPrefix);

public sealed record SeededApiKey(string KeyId, string ApiKey);

internal sealed record UserRecord(string Uid, string Email, string Plan, bool Admin, DateTimeOffset CreatedAt,
    DateTimeOffset BillingCycleStart, DateTimeOffset BillingCycleEnd);

internal sealed record ApiKeyRecord(string KeyId, string UserId, string Name, string Prefix, string KeyHash, string Status,
    DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, DateTimeOffset? LastUsedAt);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(UserRecord))]
[JsonSerializable(typeof(ApiKeyRecord))]
internal sealed partial class SeedJson : JsonSerializerContext;
