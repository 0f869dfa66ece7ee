using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Majestix.Testing;

namespace Majestix.InferenceApi.Tests;

/// <summary>Stops and restarts a real redis-server of its own (the shared one keeps serving other tests).</summary>
[Collection(PlatformCollection.Name)]
public sealed class RedisOutageTests(PlatformFixture platform) : IAsyncLifetime
{
    private static readonly Uri Me = new("/me", UriKind.Relative);
    private readonly RedisServerFixture _redis = new();

    public Task InitializeAsync() => _redis.InitializeAsync();

    public Task DisposeAsync() => _redis.DisposeAsync();

    private InferenceApiApplication App(string policy, Dictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:redis"] = _redis.ConnectionString,
            ["REDIS_FAILURE_POLICY"] = policy,
            ["Redis:CommandTimeoutMilliseconds"] = "500",
        };
        foreach (var (key, value) in extra ?? [])
        {
            settings[key] = value;
        }
        return new InferenceApiApplication(platform, settings: settings);
    }

    [Fact]
    public async Task RedisOutageAnswers503WithinASecondAndServiceResumesByItself()
    {
        await using var app = App("reject");
        var (_, apiKey) = await app.SeedKeyAsync("victor");
        using var client = app.KeyClient(apiKey);
        using var web = app.WebClient("victor");
        (await client.GetAsync(Me)).StatusCode.ShouldBe(HttpStatusCode.OK);

        _redis.Stop();
        var clock = Stopwatch.StartNew();
        var during = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => (i % 2 == 0 ? client : web).GetAsync(Me)));
        var elapsed = clock.Elapsed;

        elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(1), "50 concurrent requests during the outage");
        during.ShouldAllBe(r => r.StatusCode == HttpStatusCode.ServiceUnavailable);
        during[0].Headers.RetryAfter.ShouldNotBeNull();
        using (var body = JsonDocument.Parse(await during[0].Content.ReadAsStringAsync()))
        {
            body.RootElement.GetProperty("detail").GetString()!.ShouldContain("unavailable");
        }

        await _redis.StartAsync();
        var recovered = await Eventually.HoldsAsync(async () => (await client.GetAsync(Me)).StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(20));
        recovered.ShouldBeTrue("requests succeed again once Redis is back");
        (await web.GetAsync(Me)).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task AllowPolicyLetsRequestsThroughWithoutEnforcementDuringAnOutage()
    {
        await using var app = App("allow", new Dictionary<string, string?> { ["RateLimits:ReadsPerMinute"] = "1" });
        var (_, apiKey) = await app.SeedKeyAsync("wendy");
        using var client = app.KeyClient(apiKey);
        (await client.GetAsync(Me)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await client.GetAsync(Me)).StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);

        _redis.Stop();
        var during = new[] { await client.GetAsync(Me), await client.GetAsync(Me) };

        during.ShouldAllBe(r => r.StatusCode == HttpStatusCode.OK);
        during[0].Headers.Contains("RateLimit-Limit").ShouldBeFalse();
        using var body = JsonDocument.Parse(await during[1].Content.ReadAsStringAsync());
        body.RootElement.GetProperty("user_id").GetString().ShouldBe("wendy");
    }

    [Fact]
    public async Task AllowPolicyStillRejectsBadKeysDuringAnOutage()
    {
        await using var app = App("allow");
        _redis.Stop();
        using var client = app.KeyClient("inf_wrongwrongwrongwrongwrongwrongwrongwrong00");

        (await client.GetAsync(Me)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }
}
