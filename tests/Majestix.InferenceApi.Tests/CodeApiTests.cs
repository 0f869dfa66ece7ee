using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Majestix.GoogleCloud.Firestore;
using Majestix.InferenceApi.Credits;
using Majestix.InferenceApi.Inference.Providers;
using Majestix.InferenceApi.Tests.UsageEvents;
using Majestix.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Majestix.InferenceApi.Tests;

/// <summary>
/// <c>POST /code</c> end to end: real providers (the mock upstream over loopback HTTP), real Redis
/// credits and the Firestore ledger. Upstream behaviour is scripted through prompt directives.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class CodeApiTests(PlatformFixture platform)
{
    private static readonly Uri Code = new("/code", UriKind.Relative);

    [Fact]
    public async Task StreamSendsTextThenDoneAndChargesExactlyTheCreditsReported()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.CreateUsageSubscriptionAsync();
        await app.SeedUserAsync("coder", "pro");
        var (keyId, apiKey) = await app.SeedKeyAsync("coder");
        using var client = app.KeyClient(apiKey);
        var before = await RemainingAsync(client);

        var events = await StreamAsync(client, new { model = "claude-haiku", messages = new[] { new { role = "user", content = "Write a haiku." } } });

        events.Where(e => e.GetProperty("type").GetString() == "text").ShouldNotBeEmpty();
        events.Where(e => e.GetProperty("type").GetString() == "text").All(e => e.GetProperty("content").GetString()!.Length > 0).ShouldBeTrue();
        var done = events.Last();
        done.GetProperty("type").GetString().ShouldBe("done");
        done.GetProperty("model").GetString().ShouldBe("claude-haiku");
        done.GetProperty("model_display_name").GetString().ShouldNotBeNullOrEmpty();
        done.GetProperty("routed").GetBoolean().ShouldBeFalse();
        done.GetProperty("usage").GetProperty("input_tokens").GetInt32().ShouldBeGreaterThan(0);
        done.GetProperty("usage").GetProperty("output_tokens").GetInt32().ShouldBe(16);
        var creditsUsed = done.GetProperty("credits_used").GetDecimal();
        creditsUsed.ShouldBeGreaterThan(0m);
        (before - await RemainingAsync(client)).ShouldBe(creditsUsed);

        var usageEvent = JsonDocument.Parse((await app.PullUsageMessagesAsync()).Single().GetDataAsString()).RootElement;
        Schema.Problems(usageEvent).ShouldBeEmpty();
        usageEvent.GetProperty("endpoint").GetString().ShouldBe("/code");
        usageEvent.GetProperty("model").GetString().ShouldBe("claude-haiku");
        usageEvent.GetProperty("source").GetString().ShouldBe("api_key");
        usageEvent.GetProperty("source_id").GetString().ShouldBe(keyId);
        usageEvent.GetProperty("output_tokens").GetInt64().ShouldBe(16);
        usageEvent.GetProperty("streamed").GetBoolean().ShouldBeTrue();
        usageEvent.GetRawText().ShouldNotContain("coder");
    }

    [Fact]
    public async Task ProviderFailureBeforeOutputFallsBackToTheNextPlanModel()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("unlucky", "pro");
        using var web = app.WebClient("unlucky");
        await platform.MockUpstream.SetModelAsync("claude-haiku-4-5", """{"status": 529}""");
        try
        {
            var events = await StreamAsync(web, new { model = "claude-haiku", messages = new[] { new { role = "user", content = "hello" } } });

            var done = events.Last();
            done.GetProperty("type").GetString().ShouldBe("done");
            done.GetProperty("model").GetString().ShouldBe("gpt-5-mini");
            events.ShouldNotContain(e => e.GetProperty("type").GetString() == "error");
        }
        finally
        {
            await platform.MockUpstream.ResetAsync();
        }
    }

    [Fact]
    public async Task FailureAfterOutputStartedIsAnErrorEventAndOnlyWhatWasProducedIsCharged()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("cut-off", "pro");
        var (_, apiKey) = await app.SeedKeyAsync("cut-off");
        using var client = app.KeyClient(apiKey);
        var before = await RemainingAsync(client);

        const string prompt = "tell me more [[mock output_tokens=40 cut_after_tokens=5 cut_mode=error]]";
        var events = await StreamAsync(client, new { model = "gpt-5-mini", messages = new[] { new { role = "user", content = prompt } } });

        var error = events.Last();
        error.GetProperty("type").GetString().ShouldBe("error");
        error.GetProperty("detail").GetString().ShouldNotBeNullOrEmpty();
        error.GetProperty("message").GetString().ShouldBe(error.GetProperty("detail").GetString());
        var received = string.Concat(events.Where(e => e.GetProperty("type").GetString() == "text").Select(e => e.GetProperty("content").GetString()));
        var counter = app.Services.GetRequiredService<TokenCounter>();
        counter.Count(received).ShouldBe(5);
        // The provider reported no usage for the cut stream: the prompt and the five tokens are counted with o200k.
        var inputTokens = counter.CountInput(new ModelRequest { Messages = [ModelMessage.User(prompt)], MaxTokens = 4096 });
        var expected = CreditUnits.ToCredits(CreditPrice.ForTokens(0.25m, 2.0m, inputTokens, 5));
        (before - await RemainingAsync(client)).ShouldBe(expected);
    }

    [Fact]
    public async Task ToolCallsArriveAsToolUseEventsWithAnInputObject()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("tooler", "pro");
        using var web = app.WebClient("tooler");

        var events = await StreamAsync(web, new
        {
            model = "gpt-5-mini",
            messages = new[] { new { role = "user", content = "Open the readme [[mock tool_call=read_file]]" } },
            tools = new[] { new { name = "read_file", description = "Reads a file", input_schema = new { type = "object", properties = new { path = new { type = "string" } } } } },
        });

        var toolUse = events.Single(e => e.GetProperty("type").GetString() == "tool_use");
        toolUse.GetProperty("name").GetString().ShouldBe("read_file");
        toolUse.GetProperty("id").GetString().ShouldNotBeNullOrEmpty();
        toolUse.GetProperty("input").ValueKind.ShouldBe(JsonValueKind.Object);
        events.Last().GetProperty("type").GetString().ShouldBe("done");
    }

    [Fact]
    public async Task NonStreamingAnswersOneObjectWithTheSameInformation()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("batch", "guru");
        using var web = app.WebClient("batch");

        using var response = await web.PostAsJsonAsync(Code, new { model = "gemini-3-flash", stream = false, messages = new[] { new { role = "user", content = "Explain recursion." } } });

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = body.RootElement;
        root.GetProperty("content")[0].GetProperty("type").GetString().ShouldBe("text");
        root.GetProperty("model").GetString().ShouldBe("gemini-3-flash");
        root.GetProperty("routed").GetBoolean().ShouldBeFalse();
        root.GetProperty("credits_used").GetDecimal().ShouldBeGreaterThan(0m);
        root.GetProperty("usage").GetProperty("output_tokens").GetInt32().ShouldBe(16);
        root.GetProperty("stop_reason").GetString().ShouldBe("end_turn");
    }

    [Fact]
    public async Task NoModelMeansAutoRoutingAmongPlanModels()
    {
        await using var app = new InferenceApiApplication(platform);
        var (_, apiKey) = await app.SeedKeyAsync("router-user");
        using var client = app.KeyClient(apiKey);

        var events = await StreamAsync(client, new { model = (string?)null, messages = new[] { new { role = "user", content = "hi" } } });

        var done = events.Last();
        done.GetProperty("routed").GetBoolean().ShouldBeTrue();
        new[] { "claude-haiku", "gpt-5-mini", "gemini-3-flash", "deepseek-v3.2" }.ShouldContain(done.GetProperty("model").GetString());
    }

    [Fact]
    public async Task ModelOutsideThePlanIsForbidden()
    {
        await using var app = new InferenceApiApplication(platform);
        var (_, apiKey) = await app.SeedKeyAsync("free-coder");
        using var client = app.KeyClient(apiKey);

        using var response = await client.PostAsJsonAsync(Code, new { model = "claude-opus", messages = new[] { new { role = "user", content = "hi" } } });

        response.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await response.Content.ReadAsStringAsync()).ShouldContain("free plan");
    }

    [Fact]
    public async Task InsufficientCreditsAnswer402WithTheQuotaBodyAndHoldNothing()
    {
        await using var app = new InferenceApiApplication(platform);
        // One credit, in micro-credits: less than the worst case of a 4096-token answer.
        await app.Firestore.SetAsync("users/poor", new Dictionary<string, FirestoreValue> { ["plan"] = "free", ["allocation"] = 1_000_000L, ["created_at"] = DateTimeOffset.UtcNow });
        var (_, apiKey) = await app.SeedKeyAsync("poor");
        using var client = app.KeyClient(apiKey);

        using var response = await client.PostAsJsonAsync(Code, new { model = "claude-haiku", messages = new[] { new { role = "user", content = "hi" } } });

        response.StatusCode.ShouldBe(HttpStatusCode.PaymentRequired);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var detail = body.RootElement.GetProperty("detail");
        detail.GetProperty("code").GetString().ShouldBe("QUOTA_EXCEEDED");
        detail.GetProperty("credits_remaining").GetDecimal().ShouldBe(1m);
        detail.GetProperty("credits_required").GetDecimal().ShouldBeGreaterThan(1m);
        detail.GetProperty("plan").GetString().ShouldBe("free");
        (await RemainingAsync(client)).ShouldBe(1m);
    }

    [Theory]
    [InlineData("""{}""", "messages")]
    [InlineData("""{"messages": []}""", "messages")]
    [InlineData("""{"messages": [{"role": "system", "content": "x"}]}""", "role")]
    [InlineData("""{"messages": [{"role": "user", "content": "x"}], "temperature": 3}""", "temperature")]
    [InlineData("""{"messages": [{"role": "user", "content": "x"}], "max_tokens": 0}""", "max_tokens")]
    [InlineData("""{"messages": [{"role": "user", "content": [{"type": "tool_use", "id": "t1"}]}]}""", "block")]
    [InlineData("""{"messages": [{"role": "user", "content": "x"}], "model": "no-such-model"}""", "Unknown model")]
    [InlineData("""{"messages": [""", "JSON")]
    public async Task BadRequestsGetA400NamingTheProblemAndChargeNothing(string json, string mentions)
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("careless", "pro");
        var (_, apiKey) = await app.SeedKeyAsync("careless");
        using var client = app.KeyClient(apiKey);
        var before = await RemainingAsync(client);
        using var content = new StringContent(json, Encoding.UTF8, "application/json");

        using var response = await client.PostAsync(Code, content);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        body.RootElement.GetProperty("detail").GetString()!.ShouldContain(mentions);
        (await RemainingAsync(client)).ShouldBe(before);
    }

    private static readonly BigQuerySchema Schema = BigQuerySchema.Load(Path.Combine(AppContext.BaseDirectory, "schemas", "usage_events.json"));

    private static async Task<List<JsonElement>> StreamAsync(HttpClient client, object body)
    {
        using var response = await client.PostAsJsonAsync(Code, body);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        response.Content.Headers.ContentType!.MediaType.ShouldBe("text/event-stream");
        var events = new List<JsonElement>();
        foreach (var line in (await response.Content.ReadAsStringAsync()).Split('\n'))
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                events.Add(JsonDocument.Parse(line[6..]).RootElement.Clone());
            }
        }
        return events;
    }

    private static async Task<decimal> RemainingAsync(HttpClient client)
    {
        using var response = await client.PostAsync(new Uri("/credits/refresh", UriKind.Relative), null);
        response.EnsureSuccessStatusCode();
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("credits_remaining").GetDecimal();
    }
}
