using System.Net;
using System.Text.Json;
using Majestix.InferenceApi.Identity;
using Microsoft.AspNetCore.Http;

namespace Majestix.InferenceApi.Tests;

[Collection(PlatformCollection.Name)]
public sealed class RateLimitTests(PlatformFixture platform)
{
    private static readonly Uri Me = new("/me", UriKind.Relative);
    private static readonly Uri Code = new("/code", UriKind.Relative);

    [Fact]
    public async Task ConcurrentBurstLetsExactlyTheLimitThrough()
    {
        await using var app = new InferenceApiApplication(platform, settings: new Dictionary<string, string?>
        {
            ["RateLimits:PerIpPerMinute"] = "0",
            ["RateLimits:ReadsPerMinute"] = "100",
        });
        await app.SeedUserAsync("paula", "pro");
        var (_, apiKey) = await app.SeedKeyAsync("paula");
        using var client = app.KeyClient(apiKey);

        var responses = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => client.GetAsync(Me)));

        var byStatus = string.Join(", ", responses.GroupBy(r => r.StatusCode).Select(g => $"{g.Key}: {g.Count()}"));
        responses.Count(r => r.StatusCode == HttpStatusCode.OK).ShouldBe(100, byStatus);
        responses.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests).ShouldBe(100, byStatus);
    }

    [Fact]
    public async Task CachedApiKeyCostsOneRedisRoundTripForAuthAndBothLimits()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("olga", "pro");
        var (_, apiKey) = await app.SeedKeyAsync("olga");
        using var client = app.KeyClient(apiKey);
        (await client.GetAsync(Me)).EnsureSuccessStatusCode();

        // MONITOR shows what crossed the network; only this test's key prefix counts on the shared server.
        IReadOnlyDictionary<string, int> sent;
        await using (var monitor = await Majestix.Testing.RedisMonitor.StartAsync(platform.Redis.Port, app.Isolation.KeyPrefix))
        {
            for (var i = 0; i < 20; i++)
            {
                var response = await client.GetAsync(Me);
                response.EnsureSuccessStatusCode();
                response.Headers.GetValues("RateLimit-Remaining").Single().ShouldBe((600 - 2 - i).ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            await Task.Delay(200);
            sent = monitor.Snapshot();
        }

        sent.ShouldBe(new Dictionary<string, int> { ["evalsha"] = 20 });
    }

    [Fact]
    public async Task TwoHostsSharingRedisEnforceOneCombinedLimit()
    {
        var isolation = Isolation.New();
        var settings = new Dictionary<string, string?> { ["RateLimits:ReadsPerMinute"] = "30" };
        await using var hostA = new InferenceApiApplication(platform, isolation, settings);
        await using var hostB = new InferenceApiApplication(platform, isolation, settings);
        await hostA.SeedUserAsync("quinn", "guru");
        var (_, apiKey) = await hostA.SeedKeyAsync("quinn");
        using var onA = hostA.KeyClient(apiKey);
        using var onB = hostB.KeyClient(apiKey);

        var responses = await Task.WhenAll(Enumerable.Range(0, 60).Select(i => (i % 2 == 0 ? onA : onB).GetAsync(Me)));

        responses.Count(r => r.StatusCode == HttpStatusCode.OK).ShouldBe(30);
    }

    [Fact]
    public async Task OverTheLimitGetsTheDocumented429()
    {
        await using var app = new InferenceApiApplication(platform, settings: new Dictionary<string, string?> { ["RateLimits:FreePerMinute"] = "2" });
        var (_, apiKey) = await app.SeedKeyAsync("rita");
        using var client = app.KeyClient(apiKey);

        // A body /code refuses after the gate: the calls count, and no model is called.
        var first = await client.PostAsync(Code, new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));
        await client.PostAsync(Code, new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));
        var limited = await client.PostAsync(Code, new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));

        first.Headers.GetValues("RateLimit-Limit").Single().ShouldBe("2");
        first.Headers.GetValues("RateLimit-Remaining").Single().ShouldBe("1");
        int.Parse(first.Headers.GetValues("RateLimit-Reset").Single(), System.Globalization.CultureInfo.InvariantCulture).ShouldBeInRange(1, 60);
        limited.StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
        limited.Headers.RetryAfter!.Delta!.Value.TotalSeconds.ShouldBeInRange(1, 60);
        limited.Headers.GetValues("RateLimit-Remaining").Single().ShouldBe("0");
        using var body = JsonDocument.Parse(await limited.Content.ReadAsStringAsync());
        var detail = body.RootElement.GetProperty("detail");
        detail.GetProperty("code").GetString().ShouldBe("RATE_LIMITED");
        detail.GetProperty("plan").GetString().ShouldBe("free");
        detail.GetProperty("retry_after").GetInt32().ShouldBeInRange(1, 60);
        detail.GetProperty("message").GetString()!.ShouldContain("2 requests per minute");
    }

    [Fact]
    public async Task PerIpLimitCoversEveryCallerFromOneAddress()
    {
        await using var app = new InferenceApiApplication(platform, settings: new Dictionary<string, string?> { ["RateLimits:PerIpPerMinute"] = "3" });
        var keys = new List<string>();
        foreach (var user in new[] { "sam", "tess" })
        {
            keys.Add((await app.SeedKeyAsync(user)).ApiKey);
        }
        var clients = keys.Select(app.KeyClient).ToList();

        var responses = new List<HttpResponseMessage>();
        for (var i = 0; i < 4; i++)
        {
            responses.Add(await clients[i % 2].GetAsync(Me));
        }

        responses.Count(r => r.StatusCode == HttpStatusCode.OK).ShouldBe(3);
        var limited = responses.Last();
        limited.StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
        using var body = JsonDocument.Parse(await limited.Content.ReadAsStringAsync());
        body.RootElement.GetProperty("detail").GetProperty("code").GetString().ShouldBe("IP_RATE_LIMITED");
        clients.ForEach(c => c.Dispose());
    }

    [Fact]
    public async Task RepeatedAuthFailuresBlockTheAddressEvenForValidKeys()
    {
        await using var app = new InferenceApiApplication(platform);
        var (_, apiKey) = await app.CreateKeyAsync("uma");
        using var bad = app.KeyClient("inf_wrongwrongwrongwrongwrongwrongwrongwrong00");
        using var good = app.KeyClient(apiKey);

        for (var i = 0; i < 10; i++)
        {
            (await bad.GetAsync(Me)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        }
        var afterBlock = await good.GetAsync(Me);

        afterBlock.StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
        using var body = JsonDocument.Parse(await afterBlock.Content.ReadAsStringAsync());
        body.RootElement.GetProperty("detail").GetProperty("code").GetString().ShouldBe("IP_RATE_LIMITED");
        body.RootElement.GetProperty("detail").GetProperty("retry_after").GetInt32().ShouldBeInRange(890, 900);
    }

    [Theory]
    [InlineData(0, "10.0.0.9", "203.0.113.7", "10.0.0.9")]
    [InlineData(1, "10.0.0.9", "198.51.100.1, 203.0.113.7", "203.0.113.7")]
    [InlineData(1, "10.0.0.9", "forged-by-client, 203.0.113.7", "203.0.113.7")]
    [InlineData(2, "10.0.0.9", "198.51.100.1, 203.0.113.7, 10.1.1.1", "203.0.113.7")]
    [InlineData(1, "10.0.0.9", "", "10.0.0.9")]
    [InlineData(3, "10.0.0.9", "203.0.113.7", "10.0.0.9")]
    [InlineData(1, "10.0.0.9", "not-an-ip", "10.0.0.9")]
    public void ClientAddressTrustsOnlyTheConfiguredProxies(int trustedProxies, string socket, string forwardedFor, string expected)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse(socket);
        if (forwardedFor.Length > 0)
        {
            context.Request.Headers["X-Forwarded-For"] = forwardedFor;
        }

        ClientIp.Resolve(context, trustedProxies).ShouldBe(expected);
    }
}
