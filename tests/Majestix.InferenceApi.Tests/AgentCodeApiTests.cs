using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Majestix.InferenceApi.Tests.Credits;
using Majestix.InferenceApi.Tests.UsageEvents;

namespace Majestix.InferenceApi.Tests;

[Collection(PlatformCollection.Name)]
public sealed class AgentCodeApiTests(PlatformFixture platform)
{
    private static readonly Uri AgentCode = new("/internal/agent/code", UriKind.Relative);

    private HttpClient Executor(InferenceApiApplication app) =>
        app.BearerClient(platform.Issuer.Tokens.GoogleOidcToken(TestIdentityIssuer.ExecutorAccount, TestIdentityIssuer.InternalAudience, TimeSpan.FromHours(1)));

    [Fact]
    public async Task ExecutorCallsBillTheNamedUserWithSourceAgent()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.CreateUsageSubscriptionAsync();
        await app.SeedUserAsync("agent-owner", "pro");
        using var executor = Executor(app);
        using var owner = app.WebClient("agent-owner");

        using var response = await executor.PostAsJsonAsync(AgentCode, new
        {
            user_id = "agent-owner",
            task_id = "task_42",
            stream = false,
            model = "claude-sonnet",
            messages = new[] { new { role = "user", content = "Summarise the news." } },
        });

        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var credits = body.RootElement.GetProperty("credits_used").GetDecimal();
        credits.ShouldBeGreaterThan(0m);
        await app.WaitForLedgerWritesAsync();
        using var usage = JsonDocument.Parse(await owner.GetStringAsync(new Uri("/usage/me", UriKind.Relative)));
        usage.RootElement.GetProperty("this_month").GetProperty("credits_used").GetDecimal().ShouldBe(credits);
        var usageEvent = JsonDocument.Parse((await app.PullUsageMessagesAsync()).Single().GetDataAsString()).RootElement;
        usageEvent.GetProperty("source").GetString().ShouldBe("agent");
        usageEvent.GetProperty("source_id").GetString().ShouldBe("task_42");
        usageEvent.GetProperty("endpoint").GetString().ShouldBe("/internal/agent/code");
    }

    [Fact]
    public async Task FreeUsersCannotRunAgents()
    {
        await using var app = new InferenceApiApplication(platform);
        using var executor = Executor(app);

        using var response = await executor.PostAsJsonAsync(AgentCode, new { user_id = "free-owner", messages = new[] { new { role = "user", content = "hi" } } });

        response.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await response.Content.ReadAsStringAsync()).ShouldContain("paid plans");
    }

    [Theory]
    [InlineData("""{"messages": [{"role": "user", "content": "hi"}]}""")]
    [InlineData("""{"user_id": "", "messages": [{"role": "user", "content": "hi"}]}""")]
    [InlineData("""{"user_id": "a/b", "messages": [{"role": "user", "content": "hi"}]}""")]
    [InlineData("""{"user_id": "ok", "task_id": 7, "messages": [{"role": "user", "content": "hi"}]}""")]
    public async Task MissingOrMalformedBilledUserIsA400(string json)
    {
        await using var app = new InferenceApiApplication(platform);
        using var executor = Executor(app);
        using var content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");

        using var response = await executor.PostAsync(AgentCode, content);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task ApiKeysCannotUseTheAgentEndpoint()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("key-owner", "pro");
        var (_, apiKey) = await app.SeedKeyAsync("key-owner");
        using var client = app.KeyClient(apiKey);

        using var response = await client.PostAsJsonAsync(AgentCode, new { user_id = "someone-else", messages = new[] { new { role = "user", content = "hi" } } });

        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }
}
