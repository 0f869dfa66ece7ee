using System.Net;
using System.Text.Json;

namespace Majestix.InferenceApi.Tests.OpenAiCompatible;

/// <summary>
/// <c>Authorization: Bearer inf_…</c> (what OpenAI SDKs send) is an API key: the X-Api-Key path with its
/// checks, limits and audit events. Any other bearer value is still a Firebase ID token.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class BearerApiKeyTests(PlatformFixture platform)
{
    private static readonly Uri Me = new("/me", UriKind.Relative);
    private static readonly Uri Models = new("/v1/models", UriKind.Relative);

    [Fact]
    public async Task BearerApiKeyAuthenticatesAsTheKeyOwnerOnEveryKeyEndpoint()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("bearer-owner", "pro");
        var (_, apiKey) = await app.SeedKeyAsync("bearer-owner");
        using var client = app.BearerClient(apiKey);

        using var me = await client.GetAsync(Me);
        me.StatusCode.ShouldBe(HttpStatusCode.OK, await me.Content.ReadAsStringAsync());
        (await me.Content.ReadAsStringAsync()).ShouldContain("bearer-owner");
        (await client.GetAsync(Models)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await client.GetAsync(new Uri("/models", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task InvalidBearerApiKeyIs401WithAnAuthFailureAuditEvent()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.CreateAuditSubscriptionAsync();
        var unknownKey = "inf_" + new string('A', 43);
        using var unknown = app.BearerClient(unknownKey);
        using var malformed = app.BearerClient("inf_not-base64url!!");

        using var first = await unknown.GetAsync(Models);
        using var second = await malformed.GetAsync(Models);

        first.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        second.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        using var body = JsonDocument.Parse(await first.Content.ReadAsStringAsync());
        // The gate's own {"detail"} body, as for X-Api-Key; SDKs go by the status (AuthenticationError).
        body.RootElement.GetProperty("detail").GetString().ShouldBe("Invalid API key.");
        var reasons = (await app.PullAuditEventsAsync())
            .Where(e => e.GetProperty("event_type").GetString() == "auth_failure")
            .Select(e => e.GetProperty("reason").GetString()).ToList();
        reasons.ShouldContain("invalid_key");
        reasons.ShouldContain("malformed_key");
    }

    [Fact]
    public async Task BearerApiKeyCountsAgainstThePerUserRateLimit()
    {
        await using var app = new InferenceApiApplication(platform, settings: new Dictionary<string, string?> { ["RateLimits:ReadsPerMinute"] = "2" });
        var (_, apiKey) = await app.SeedKeyAsync("bearer-limited");
        using var bearer = app.BearerClient(apiKey);
        using var header = app.KeyClient(apiKey);

        (await bearer.GetAsync(Models)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await header.GetAsync(Models)).StatusCode.ShouldBe(HttpStatusCode.OK);
        using var limited = await bearer.GetAsync(Models);

        limited.StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
        limited.Headers.RetryAfter.ShouldNotBeNull();
    }

    [Fact]
    public async Task OtherBearerValuesStillTakeTheFirebasePath()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("bearer-web", "pro");
        using var web = app.WebClient("bearer-web");
        using var noAppCheck = app.BearerClient(app.Issuer.Tokens.FirebaseIdToken("bearer-web", "bearer-web@example.com", false, TimeSpan.FromHours(1)));

        (await web.GetAsync(Models)).StatusCode.ShouldBe(HttpStatusCode.OK);
        using var refused = await noAppCheck.GetAsync(Models);

        refused.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await refused.Content.ReadAsStringAsync()).ShouldContain("X-Firebase-AppCheck");
    }

    [Fact]
    public async Task XApiKeyWinsOverABearerValue()
    {
        await using var app = new InferenceApiApplication(platform);
        var (_, apiKey) = await app.SeedKeyAsync("bearer-both");
        using var client = app.KeyClient(apiKey);
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "inf_" + new string('B', 43));

        (await client.GetAsync(Models)).StatusCode.ShouldBe(HttpStatusCode.OK);
    }
}
