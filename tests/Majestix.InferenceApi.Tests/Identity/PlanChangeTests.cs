using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Majestix.InferenceApi.Tests.Identity;

/// <summary>A plan change reaches cached API keys (and web callers' cached plan) with the next request.</summary>
[Collection(PlatformCollection.Name)]
public sealed class PlanChangeTests(PlatformFixture platform)
{
    private static readonly Uri Code = new("/code", UriKind.Relative);
    private static readonly Uri Me = new("/me", UriKind.Relative);
    private static readonly Uri Refresh = new("/credits/refresh", UriKind.Relative);

    [Fact]
    public async Task UpgradeReachesTheCachedKeyAtOnceAfterRefresh()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("upgrader", "free");
        var (_, apiKey) = await app.SeedKeyAsync("upgrader");
        using var key = app.KeyClient(apiKey);
        using var web = app.WebClient("upgrader");
        using var before = await key.PostAsync(Code, Json("{}"));
        before.Headers.GetValues("RateLimit-Limit").Single().ShouldBe("10");
        using (var refused = await key.PostAsJsonAsync(Code, Sonnet()))
        {
            refused.StatusCode.ShouldBe(HttpStatusCode.Forbidden, "claude-sonnet is not on the free plan");
        }
        (await PlanOfAsync(web)).ShouldBe("free");

        await app.SeedUserAsync("upgrader", "pro");
        (await key.PostAsync(Refresh, null)).StatusCode.ShouldBe(HttpStatusCode.OK);

        using var after = await key.PostAsync(Code, Json("{}"));
        after.Headers.GetValues("RateLimit-Limit").Single().ShouldBe("100");
        using var allowed = await key.PostAsJsonAsync(Code, Sonnet());
        allowed.StatusCode.ShouldBe(HttpStatusCode.OK, await allowed.Content.ReadAsStringAsync());
        (await PlanOfAsync(key)).ShouldBe("pro");
        (await PlanOfAsync(web)).ShouldBe("pro", "the web callers' cached plan moved too");
    }

    [Fact]
    public async Task DowngradeTakesModelsAwayFromTheCachedKeyAtOnce()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("downgrader", "pro");
        var (_, apiKey) = await app.SeedKeyAsync("downgrader");
        using var key = app.KeyClient(apiKey);
        using (var allowed = await key.PostAsJsonAsync(Code, Sonnet()))
        {
            allowed.StatusCode.ShouldBe(HttpStatusCode.OK, await allowed.Content.ReadAsStringAsync());
        }

        await app.SeedUserAsync("downgrader", "free");
        (await key.PostAsync(Refresh, null)).StatusCode.ShouldBe(HttpStatusCode.OK);

        using var refused = await key.PostAsJsonAsync(Code, Sonnet());
        refused.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        refused.Headers.GetValues("RateLimit-Limit").Single().ShouldBe("10");
    }

    private static object Sonnet() => new { model = "claude-sonnet", stream = false, messages = new[] { new { role = "user", content = "hi" } } };

    private static async Task<string> PlanOfAsync(HttpClient client)
    {
        using var me = JsonDocument.Parse(await client.GetStringAsync(Me));
        return me.RootElement.GetProperty("plan").GetString()!;
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");
}
