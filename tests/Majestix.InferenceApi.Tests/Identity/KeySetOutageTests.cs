using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Majestix.InferenceApi.Tests.Identity;

/// <summary>Google's key sets failing: each test has an issuer of its own, so switching it off touches no other test.</summary>
[Collection(PlatformCollection.Name)]
public sealed class KeySetOutageTests(PlatformFixture platform) : IAsyncLifetime
{
    private static readonly Uri Me = new("/me", UriKind.Relative);
    private static readonly Uri InternalMe = new("/internal/me", UriKind.Relative);
    private readonly TestIdentityIssuer _issuer = new();
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);

    public Task InitializeAsync() => _issuer.InitializeAsync();

    public Task DisposeAsync() => _issuer.DisposeAsync();

    [Fact]
    public async Task LastGoodKeySetKeepsVerifyingWhileRefreshesFailUpToTheStalenessBound()
    {
        await using var harness = Harness(("Identity:KeySetMaxStaleSeconds", "7200"));
        await using var app = OnClock(harness);
        using var web = WebClient(app, "stale-web", TimeSpan.FromHours(6));
        (await web.GetAsync(Me)).StatusCode.ShouldBe(HttpStatusCode.OK);

        _issuer.KeySetsFail = true;
        var before = _issuer.KeySetRequests;
        _clock.Advance(TimeSpan.FromMinutes(90)); // the sets' max-age is an hour
        using var stale = await web.GetAsync(Me);

        stale.StatusCode.ShouldBe(HttpStatusCode.OK, "the last good key set serves while the refresh fails");
        _issuer.KeySetRequests.ShouldBeGreaterThan(before, "a refresh was tried");

        _clock.Advance(TimeSpan.FromHours(2)); // now three and a half hours past the fetch: over the two-hour bound
        using var tooStale = await web.GetAsync(Me);

        tooStale.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
        await DetailOf(tooStale);

        _issuer.KeySetsFail = false;
        _clock.Advance(TimeSpan.FromSeconds(10));
        (await web.GetAsync(Me)).StatusCode.ShouldBe(HttpStatusCode.OK, "a refresh that succeeds ends the outage");
    }

    [Fact]
    public async Task ColdStartWithoutKeySetsAnswers503AndNeverLocksTheAddressOut()
    {
        _issuer.KeySetsFail = true;
        await using var harness = Harness();
        await using var app = OnClock(harness);
        using var web = WebClient(app, "cold-web", TimeSpan.FromHours(1));
        using var agent = app.CreateClient();
        agent.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer",
            _issuer.Tokens.GoogleOidcToken(TestIdentityIssuer.ExecutorAccount, TestIdentityIssuer.InternalAudience, TimeSpan.FromHours(1)));

        // Twice the lockout threshold, from one address, web and internal callers alike, seconds apart so fetches are retried.
        for (var i = 0; i < 20; i++)
        {
            using var response = await (i % 2 == 0 ? web.GetAsync(Me) : agent.GetAsync(InternalMe));
            response.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable, $"request {i}");
            response.Headers.RetryAfter.ShouldNotBeNull();
            (await DetailOf(response)).ShouldContain("retry");
            _clock.Advance(TimeSpan.FromSeconds(3));
        }

        _issuer.KeySetsFail = false;
        _clock.Advance(TimeSpan.FromSeconds(10));
        (await web.GetAsync(Me)).StatusCode.ShouldBe(HttpStatusCode.OK, "the address was never blocked");
        (await agent.GetAsync(InternalMe)).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task BadTokensStillCountAsFailedLoginsWhenTheKeySetsAreUp()
    {
        await using var harness = Harness();
        await using var app = OnClock(harness);
        using var web = WebClient(app, "liar", TimeSpan.FromHours(1));
        web.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", _issuer.Forger.FirebaseIdToken("liar", null, false, TimeSpan.FromHours(1)));

        for (var i = 0; i < 10; i++)
        {
            (await web.GetAsync(Me)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        }

        (await web.GetAsync(Me)).StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
    }

    private InferenceApiApplication Harness(params (string Key, string Value)[] settings)
    {
        var values = new Dictionary<string, string?>
        {
            ["Identity:FirebaseKeysUrl"] = $"{_issuer.BaseUrl}/keys/firebase",
            ["Identity:AppCheckKeysUrl"] = $"{_issuer.BaseUrl}/keys/appcheck",
            ["Identity:GoogleKeysUrl"] = $"{_issuer.BaseUrl}/keys/google",
        };
        foreach (var (key, value) in settings)
        {
            values[key] = value;
        }
        return new InferenceApiApplication(platform, settings: values);
    }

    private WebApplicationFactory<Program> OnClock(InferenceApiApplication harness) =>
        harness.WithWebHostBuilder(web => web.ConfigureTestServices(services => services.AddSingleton<TimeProvider>(_clock)));

    private HttpClient WebClient(WebApplicationFactory<Program> app, string userId, TimeSpan lifetime)
    {
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", _issuer.Tokens.FirebaseIdToken(userId, $"{userId}@example.com", false, lifetime));
        client.DefaultRequestHeaders.Add("X-Firebase-AppCheck", _issuer.Tokens.AppCheckToken(TestIdentityIssuer.AppId, lifetime));
        return client;
    }

    private static async Task<string> DetailOf(HttpResponseMessage response)
    {
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("detail").GetString()!;
    }
}
