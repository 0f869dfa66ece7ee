using System.Net;
using Microsoft.Extensions.Options;

namespace Majestix.InferenceApi.Tests.Identity;

[Collection(PlatformCollection.Name)]
public sealed class BrowserAccessTests(PlatformFixture platform)
{
    private const string Hosting = "https://inference-web.web.app";
    private const string Hosting2 = "https://inference-web2.web.app";
    private static readonly Uri Me = new("/me", UriKind.Relative);
    private static readonly Uri Code = new("/code", UriKind.Relative);

    [Theory]
    [InlineData(Hosting)]
    [InlineData(Hosting2)]
    public async Task PreflightFromAHostingOriginIsAnsweredBeforeTheGate(string origin)
    {
        await using var app = new InferenceApiApplication(platform);
        using var client = app.CreateClient();

        // Twelve preflights carry no credentials: were they authenticated, the address would be blocked after ten.
        for (var i = 0; i < 12; i++)
        {
            using var preflight = await client.SendAsync(Preflight(Code, origin, "POST", "x-api-key, authorization, x-firebase-appcheck, content-type, idempotency-key"));

            preflight.StatusCode.ShouldBe(HttpStatusCode.NoContent);
            Single(preflight, "Access-Control-Allow-Origin").ShouldBe(origin);
            Single(preflight, "Access-Control-Allow-Credentials").ShouldBe("true");
            Listed(preflight, "Access-Control-Allow-Methods").ShouldContain("post");
            Listed(preflight, "Access-Control-Allow-Headers").ShouldBe(
                ["x-api-key", "authorization", "x-firebase-appcheck", "content-type", "idempotency-key"], ignoreOrder: true);
        }
        var (_, apiKey) = await app.SeedKeyAsync("cora");
        using var keyed = app.KeyClient(apiKey);
        (await keyed.GetAsync(Me)).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task CredentialedRequestFromAHostingOriginCanReadTheRateLimitHeaders()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("cora-web", "pro");
        using var web = app.WebClient("cora-web");
        using var request = new HttpRequestMessage(HttpMethod.Get, Me);
        request.Headers.Add("Origin", Hosting);

        using var response = await web.SendAsync(request);

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        Single(response, "Access-Control-Allow-Origin").ShouldBe(Hosting);
        Single(response, "Access-Control-Allow-Credentials").ShouldBe("true");
        Listed(response, "Access-Control-Expose-Headers").ShouldBe(
            ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "retry-after", "x-request-id"], ignoreOrder: true);
        response.Headers.Contains("RateLimit-Remaining").ShouldBeTrue();
    }

    [Fact]
    public async Task TheGatesRefusalsCarryCorsHeadersSoTheConsoleCanReadThem()
    {
        await using var app = new InferenceApiApplication(platform);
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, Me);
        request.Headers.Add("Origin", Hosting);

        using var response = await client.SendAsync(request);

        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        Single(response, "Access-Control-Allow-Origin").ShouldBe(Hosting);
        Single(response, "Access-Control-Allow-Credentials").ShouldBe("true");
    }

    [Theory]
    [InlineData("https://evil.example")]
    [InlineData("http://inference-web.web.app")]
    [InlineData("https://inference-web.web.app.evil.example")]
    [InlineData("https://inference-web3.web.app")]
    [InlineData("null")]
    public async Task OtherOriginsGetNoCorsHeaders(string origin)
    {
        await using var app = new InferenceApiApplication(platform);
        var (_, apiKey) = await app.SeedKeyAsync("cora-other");
        using var client = app.KeyClient(apiKey);
        using var request = new HttpRequestMessage(HttpMethod.Get, Me);
        request.Headers.Add("Origin", origin);

        using var preflight = await client.SendAsync(Preflight(Code, origin, "POST", "x-api-key"));
        using var actual = await client.SendAsync(request);

        actual.StatusCode.ShouldBe(HttpStatusCode.OK);
        foreach (var response in new[] { preflight, actual })
        {
            response.Headers.Where(h => h.Key.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase)).ShouldBeEmpty();
        }
    }

    [Fact]
    public async Task ConfiguredDevOriginIsAllowedBesideTheHostingOrigins()
    {
        await using var app = new InferenceApiApplication(platform, settings: new Dictionary<string, string?> { ["Cors:AllowedOrigins:2"] = "http://localhost:5173" });
        using var client = app.CreateClient();

        using var dev = await client.SendAsync(Preflight(Code, "http://localhost:5173", "POST", "content-type"));
        using var hosting = await client.SendAsync(Preflight(Code, Hosting2, "POST", "content-type"));

        Single(dev, "Access-Control-Allow-Origin").ShouldBe("http://localhost:5173");
        Single(hosting, "Access-Control-Allow-Origin").ShouldBe(Hosting2);
    }

    [Theory]
    [InlineData("*")]
    [InlineData("https://inference-web.web.app/")]
    [InlineData("https://*.web.app")]
    [InlineData("inference-web.web.app")]
    [InlineData("ftp://inference-web.web.app")]
    public void AnOriginThatIsNotOneFailsAtStart(string origin)
    {
        using var app = new InferenceApiApplication(platform, settings: new Dictionary<string, string?> { ["Cors:AllowedOrigins:0"] = origin });

        var failure = Should.Throw<OptionsValidationException>(() => app.CreateClient());

        failure.Message.ShouldContain("Cors:AllowedOrigins");
    }

    private static HttpRequestMessage Preflight(Uri path, string origin, string method, string headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, path);
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", method);
        request.Headers.Add("Access-Control-Request-Headers", headers);
        return request;
    }

    private static string Single(HttpResponseMessage response, string header) =>
        response.Headers.TryGetValues(header, out var values) ? values.Single() : throw new ShouldAssertException($"{header} is missing");

    private static string[] Listed(HttpResponseMessage response, string header) =>
        [.. Single(response, header).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(v => v.ToLowerInvariant())];
}
