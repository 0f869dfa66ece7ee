using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Majestix.InferenceApi.Identity;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Majestix.InferenceApi.Tests.Identity;

/// <summary>The per-user windows: model calls at the plan's rate, reads apart, agent calls per billed user.</summary>
[Collection(PlatformCollection.Name)]
public sealed class UserWindowTests(PlatformFixture platform)
{
    private static readonly Uri Code = new("/code", UriKind.Relative);
    private static readonly Uri Chat = new("/chat", UriKind.Relative);
    private static readonly Uri Completions = new("/v1/chat/completions", UriKind.Relative);
    private static readonly Uri AgentCode = new("/internal/agent/code", UriKind.Relative);
    private static readonly Uri[] Reads =
    [
        new("/usage/me", UriKind.Relative), new("/models", UriKind.Relative), new("/v1/models", UriKind.Relative), new("/me", UriKind.Relative),
    ];

    [Fact]
    public async Task FreeUserPollingItsUsageStillGetsItsTenModelCalls()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("poller", "free");
        var (_, apiKey) = await app.SeedKeyAsync("poller");
        using var client = app.KeyClient(apiKey);

        for (var i = 0; i < 50; i++)
        {
            using var poll = await client.GetAsync(Reads[i % Reads.Length]);
            poll.StatusCode.ShouldBe(HttpStatusCode.OK, $"poll {i}: {await poll.Content.ReadAsStringAsync()}");
        }
        var calls = new List<HttpResponseMessage>();
        for (var i = 0; i < 11; i++)
        {
            calls.Add(await client.PostAsJsonAsync(Code, new { model = "claude-haiku", stream = false, messages = new[] { new { role = "user", content = "hi" } } }));
        }

        foreach (var (call, i) in calls.Take(10).Select((c, i) => (c, i)))
        {
            call.StatusCode.ShouldBe(HttpStatusCode.OK, $"model call {i}: {await call.Content.ReadAsStringAsync()}");
        }
        calls[0].Headers.GetValues("RateLimit-Limit").Single().ShouldBe("10");
        calls[10].StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
        using var body = JsonDocument.Parse(await calls[10].Content.ReadAsStringAsync());
        body.RootElement.GetProperty("detail").GetProperty("plan").GetString().ShouldBe("free");
        calls.ForEach(c => c.Dispose());
    }

    [Fact]
    public async Task EveryModelCallRouteCountsInThePlanWindowAndReadsKeepWorking()
    {
        await using var app = new InferenceApiApplication(platform, settings: new Dictionary<string, string?> { ["RateLimits:GuruPerMinute"] = "3" });
        await app.SeedUserAsync("caller", "guru");
        var (_, apiKey) = await app.SeedKeyAsync("caller");
        using var keyed = app.KeyClient(apiKey);
        using var web = app.WebClient("caller");

        // Bodies the endpoints refuse after the gate: each still counts as a model call.
        using var code = await keyed.PostAsync(Code, Json("{}"));
        using var chat = await web.PostAsync(Chat, Json("{}"));
        using var completions = await keyed.PostAsync(Completions, Json("{}"));
        using var fourth = await web.PostAsync(Code, Json("{}"));

        foreach (var refused in new[] { code, chat, completions })
        {
            refused.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        }
        fourth.StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
        foreach (var read in Reads)
        {
            (await keyed.GetAsync(read)).StatusCode.ShouldBe(HttpStatusCode.OK, read.ToString());
            (await web.GetAsync(read)).StatusCode.ShouldBe(HttpStatusCode.OK, read.ToString());
        }
        (await web.GetAsync(new Uri("/api-keys", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task ReadsHaveAGenerousLimitOfTheirOwnThatLeavesModelCallsAlone()
    {
        await using var app = new InferenceApiApplication(platform, settings: new Dictionary<string, string?> { ["RateLimits:ReadsPerMinute"] = "3" });
        await app.SeedUserAsync("reader", "pro");
        var (_, apiKey) = await app.SeedKeyAsync("reader");
        using var client = app.KeyClient(apiKey);

        var reads = new List<HttpResponseMessage>();
        for (var i = 0; i < 4; i++)
        {
            reads.Add(await client.GetAsync(Reads[i % Reads.Length]));
        }
        using var call = await client.PostAsync(Code, Json("{}"));

        reads.Take(3).ShouldAllBe(r => r.StatusCode == HttpStatusCode.OK);
        reads[0].Headers.GetValues("RateLimit-Limit").Single().ShouldBe("3");
        reads[3].StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
        using var body = JsonDocument.Parse(await reads[3].Content.ReadAsStringAsync());
        body.RootElement.GetProperty("detail").GetProperty("code").GetString().ShouldBe("RATE_LIMITED");
        body.RootElement.GetProperty("detail").GetProperty("message").GetString()!.ShouldContain("reads");
        call.StatusCode.ShouldBe(HttpStatusCode.BadRequest, "the model-call window is untouched");
        call.Headers.GetValues("RateLimit-Limit").Single().ShouldBe("100");
        reads.ForEach(r => r.Dispose());
    }

    [Fact]
    public async Task OnlyTheModelCallRoutesCountAtThePlanRate()
    {
        await using var app = new InferenceApiApplication(platform);
        var routes = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<CallerRequirement>() is not null)
            .ToList();

        var modelCalls = routes.Where(e => e.Metadata.GetMetadata<CallerRequirement>()!.IsModelCall).Select(e => e.RoutePattern.RawText!.TrimEnd('/'));

        modelCalls.ShouldBe(["/code", "/chat", "/v1/chat/completions"], ignoreOrder: true);
        routes.Count.ShouldBeGreaterThan(10);
    }

    [Fact]
    public async Task AgentCallsAreLimitedPerBilledUser()
    {
        await using var app = new InferenceApiApplication(platform, settings: new Dictionary<string, string?> { ["RateLimits:AgentPerMinute"] = "2" });
        using var executor = app.BearerClient(platform.Issuer.Tokens.GoogleOidcToken(TestIdentityIssuer.ExecutorAccount, TestIdentityIssuer.InternalAudience, TimeSpan.FromHours(1)));

        // No messages: refused after the limit, so each counts without a model call.
        var forAda = new List<HttpResponseMessage>();
        for (var i = 0; i < 3; i++)
        {
            forAda.Add(await executor.PostAsync(AgentCode, Json("""{"user_id": "ada"}""")));
        }
        using var forBob = await executor.PostAsync(AgentCode, Json("""{"user_id": "bob"}"""));

        forAda.Take(2).ShouldAllBe(r => r.StatusCode == HttpStatusCode.BadRequest);
        forAda[0].Headers.GetValues("RateLimit-Limit").Single().ShouldBe("2");
        forAda[2].StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
        forAda[2].Headers.RetryAfter.ShouldNotBeNull();
        using var body = JsonDocument.Parse(await forAda[2].Content.ReadAsStringAsync());
        body.RootElement.GetProperty("detail").GetProperty("code").GetString().ShouldBe("RATE_LIMITED");
        forBob.StatusCode.ShouldBe(HttpStatusCode.BadRequest, "another user's agent calls count apart");
        forAda.ForEach(r => r.Dispose());
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");
}
