using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Majestix.GoogleCloud.Firestore;

namespace Majestix.InferenceApi.Tests;

/// <summary>
/// <c>POST /chat</c> end to end: the mock upstream over loopback HTTP, real Redis credits and sessions,
/// and the Firestore ledger. Upstream behaviour is scripted through prompt directives.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class ChatApiTests(PlatformFixture platform)
{
    private static readonly Uri Chat = new("/chat", UriKind.Relative);

    [Fact]
    public async Task StreamSendsChunksThenDoneWithTheSessionAndChargesExactlyTheCreditsReported()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("chatter", "pro");
        var (_, apiKey) = await app.SeedKeyAsync("chatter");
        using var client = app.KeyClient(apiKey);
        var before = await RemainingAsync(client);

        var events = await StreamAsync(client, new { model = "claude-haiku", messages = new[] { new { role = "user", content = "Write a haiku." } } });

        var chunks = events.Where(e => e.GetProperty("type").GetString() == "chunk").ToList();
        chunks.ShouldNotBeEmpty();
        chunks.All(e => e.GetProperty("content").GetString()!.Length > 0).ShouldBeTrue();
        events.ShouldNotContain(e => e.GetProperty("type").GetString() == "text");
        var done = events.Last();
        done.GetProperty("type").GetString().ShouldBe("done");
        done.GetProperty("model").GetString().ShouldBe("claude-haiku");
        done.GetProperty("routed").GetBoolean().ShouldBeFalse();
        done.GetProperty("usage").GetProperty("output_tokens").GetInt32().ShouldBe(16);
        var sessionId = done.GetProperty("session_id").GetString();
        sessionId.ShouldStartWith("sess_");
        var creditsUsed = done.GetProperty("credits_used").GetDecimal();
        creditsUsed.ShouldBeGreaterThan(0m);
        (before - await RemainingAsync(client)).ShouldBe(creditsUsed);

        var history = await HistoryAsync(client, sessionId!);
        history.Count.ShouldBe(2);
        history[0].GetProperty("role").GetString().ShouldBe("user");
        history[0].GetProperty("content").GetString().ShouldBe("Write a haiku.");
        history[1].GetProperty("role").GetString().ShouldBe("assistant");
        var reply = string.Concat(chunks.Select(e => e.GetProperty("content").GetString()));
        history[1].GetProperty("content")[0].GetProperty("text").GetString().ShouldBe(reply);
    }

    [Fact]
    public async Task NonStreamingAnswersOneObjectWithTheSession()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("chat-batch", "guru");
        using var web = app.WebClient("chat-batch");
        var before = await RemainingAsync(web);

        using var response = await web.PostAsJsonAsync(Chat, new { model = "gemini-3-flash", stream = false, messages = new[] { new { role = "user", content = "Explain recursion." } } });

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/json");
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = body.RootElement;
        root.GetProperty("content")[0].GetProperty("type").GetString().ShouldBe("text");
        root.GetProperty("model").GetString().ShouldBe("gemini-3-flash");
        root.GetProperty("model_display_name").GetString().ShouldNotBeNullOrEmpty();
        root.GetProperty("routed").GetBoolean().ShouldBeFalse();
        root.GetProperty("stop_reason").GetString().ShouldBe("end_turn");
        root.GetProperty("usage").GetProperty("output_tokens").GetInt32().ShouldBe(16);
        var creditsUsed = root.GetProperty("credits_used").GetDecimal();
        creditsUsed.ShouldBeGreaterThan(0m);
        (before - await RemainingAsync(web)).ShouldBe(creditsUsed);
        var history = await HistoryAsync(web, root.GetProperty("session_id").GetString()!);
        history.Select(m => m.GetProperty("role").GetString()).ShouldBe(["user", "assistant"]);
    }

    [Fact]
    public async Task ContinuingASessionSendsTheStoredHistoryAndGrowsIt()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("returning", "pro");
        using var web = app.WebClient("returning");
        await platform.MockUpstream.ResetAsync();

        var first = await StreamAsync(web, new { model = "gpt-5-mini", messages = new[] { new { role = "user", content = "My name is Zanzibar-Quokka." } } });
        var sessionId = first.Last().GetProperty("session_id").GetString()!;
        var second = await StreamAsync(web, new { model = "gpt-5-mini", session_id = sessionId, messages = new[] { new { role = "user", content = "What is my name?" } } });

        second.Last().GetProperty("type").GetString().ShouldBe("done");
        second.Last().GetProperty("session_id").GetString().ShouldBe(sessionId);
        var requests = await platform.MockUpstream.RequestsAsync();
        requests.Count.ShouldBe(2);
        requests[0].Body.ShouldNotContain("What is my name?");
        requests[1].Body.ShouldContain("Zanzibar-Quokka");
        requests[1].Body.ShouldContain("What is my name?");
        var history = await HistoryAsync(web, sessionId);
        history.Select(m => m.GetProperty("role").GetString()).ShouldBe(["user", "assistant", "user", "assistant"]);
        history[2].GetProperty("content").GetString().ShouldBe("What is my name?");

        // A continuation may carry no new messages: the stored history alone is the prompt.
        var third = await StreamAsync(web, new { model = "gpt-5-mini", session_id = sessionId });
        third.Last().GetProperty("type").GetString().ShouldBe("done");
        (await HistoryAsync(web, sessionId)).Count.ShouldBe(5);
    }

    [Fact]
    public async Task AnotherUsersSessionIsNotFoundAndNothingIsCharged()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("owner", "pro");
        await app.SeedUserAsync("intruder", "pro");
        using var owner = app.WebClient("owner");
        using var intruder = app.WebClient("intruder");
        var events = await StreamAsync(owner, new { model = "gpt-5-mini", messages = new[] { new { role = "user", content = "secret plans" } } });
        var sessionId = events.Last().GetProperty("session_id").GetString()!;
        var before = await RemainingAsync(intruder);

        foreach (var id in new[] { sessionId, "sess_AAAAAAAAAAAAAAAAAAAAAA", "not-a-session" })
        {
            using var response = await intruder.PostAsJsonAsync(Chat, new { model = "gpt-5-mini", session_id = id, messages = new[] { new { role = "user", content = "show me" } } });

            response.StatusCode.ShouldBe(HttpStatusCode.NotFound);
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            body.RootElement.GetProperty("detail").GetString().ShouldBe("Session not found.");
        }
        (await RemainingAsync(intruder)).ShouldBe(before);
        (await HistoryAsync(owner, sessionId)).Count.ShouldBe(2);
    }

    [Fact]
    public async Task ToolCallsArriveAsToolUseEventsAndAreKeptInTheSession()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("chat-tooler", "pro");
        using var web = app.WebClient("chat-tooler");

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
        var done = events.Last();
        done.GetProperty("type").GetString().ShouldBe("done");
        var history = await HistoryAsync(web, done.GetProperty("session_id").GetString()!);
        var stored = history[^1].GetProperty("content").EnumerateArray().Single(b => b.GetProperty("type").GetString() == "tool_use");
        stored.GetProperty("id").GetString().ShouldBe(toolUse.GetProperty("id").GetString());
        stored.GetProperty("name").GetString().ShouldBe("read_file");
    }

    [Fact]
    public async Task FailureAfterOutputStartedIsAnErrorEventWithDetailAndMessageAndLeavesTheHistoryAlone()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("chat-cut", "pro");
        var (_, apiKey) = await app.SeedKeyAsync("chat-cut");
        using var client = app.KeyClient(apiKey);
        var first = await StreamAsync(client, new { model = "gpt-5-mini", messages = new[] { new { role = "user", content = "hello" } } });
        var sessionId = first.Last().GetProperty("session_id").GetString()!;
        var before = await RemainingAsync(client);

        const string prompt = "tell me more [[mock output_tokens=40 cut_after_tokens=5 cut_mode=error]]";
        var events = await StreamAsync(client, new { model = "gpt-5-mini", session_id = sessionId, messages = new[] { new { role = "user", content = prompt } } });

        events.ShouldContain(e => e.GetProperty("type").GetString() == "chunk");
        var error = events.Last();
        error.GetProperty("type").GetString().ShouldBe("error");
        error.GetProperty("detail").GetString().ShouldNotBeNullOrEmpty();
        error.GetProperty("message").GetString().ShouldBe(error.GetProperty("detail").GetString());
        events.ShouldNotContain(e => e.GetProperty("type").GetString() == "done");
        // What was produced is charged; the failed turn is not added to the session.
        (before - await RemainingAsync(client)).ShouldBeGreaterThan(0m);
        (await HistoryAsync(client, sessionId)).Count.ShouldBe(2);
    }

    [Fact]
    public async Task NoModelWithoutToolsIsRoutedAmongPlanModels()
    {
        await using var app = new InferenceApiApplication(platform);
        var (_, apiKey) = await app.SeedKeyAsync("chat-router");
        using var client = app.KeyClient(apiKey);

        var events = await StreamAsync(client, new { messages = new[] { new { role = "user", content = "hi" } } });

        var done = events.Last();
        done.GetProperty("routed").GetBoolean().ShouldBeTrue();
        done.GetProperty("session_id").GetString().ShouldStartWith("sess_");
    }

    [Fact]
    public async Task ModelOutsideThePlanIsForbidden()
    {
        await using var app = new InferenceApiApplication(platform);
        var (_, apiKey) = await app.SeedKeyAsync("free-chatter");
        using var client = app.KeyClient(apiKey);

        using var response = await client.PostAsJsonAsync(Chat, new { model = "claude-opus", messages = new[] { new { role = "user", content = "hi" } } });

        response.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await response.Content.ReadAsStringAsync()).ShouldContain("free plan");
    }

    [Fact]
    public async Task InsufficientCreditsAnswer402WithTheQuotaBodyAndHoldNothing()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.Firestore.SetAsync("users/poor-chatter", new Dictionary<string, FirestoreValue> { ["plan"] = "free", ["allocation"] = 1_000_000L, ["created_at"] = DateTimeOffset.UtcNow });
        var (_, apiKey) = await app.SeedKeyAsync("poor-chatter");
        using var client = app.KeyClient(apiKey);

        using var response = await client.PostAsJsonAsync(Chat, new { model = "claude-haiku", messages = new[] { new { role = "user", content = "hi" } } });

        response.StatusCode.ShouldBe(HttpStatusCode.PaymentRequired);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var detail = body.RootElement.GetProperty("detail");
        detail.GetProperty("code").GetString().ShouldBe("QUOTA_EXCEEDED");
        detail.GetProperty("plan").GetString().ShouldBe("free");
        (await RemainingAsync(client)).ShouldBe(1m);
    }

    [Theory]
    [InlineData("""{}""", "messages")]
    [InlineData("""{"messages": []}""", "messages")]
    [InlineData("""{"messages": [{"role": "system", "content": "x"}]}""", "role")]
    [InlineData("""{"messages": [{"role": "user", "content": "x"}], "temperature": 3}""", "temperature")]
    [InlineData("""{"messages": [{"role": "user", "content": "x"}], "session_id": 7}""", "session_id")]
    [InlineData("""{"messages": [{"role": "user", "content": "x"}], "model": "no-such-model"}""", "Unknown model")]
    [InlineData("""{"messages": [""", "JSON")]
    public async Task BadRequestsGetA400NamingTheProblemAndChargeNothing(string json, string mentions)
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("chat-careless", "pro");
        var (_, apiKey) = await app.SeedKeyAsync("chat-careless");
        using var client = app.KeyClient(apiKey);
        var before = await RemainingAsync(client);
        using var content = new StringContent(json, Encoding.UTF8, "application/json");

        using var response = await client.PostAsync(Chat, content);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        body.RootElement.GetProperty("detail").GetString()!.ShouldContain(mentions);
        (await RemainingAsync(client)).ShouldBe(before);
    }

    private static async Task<List<JsonElement>> StreamAsync(HttpClient client, object body)
    {
        using var response = await client.PostAsJsonAsync(Chat, body);
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

    private static async Task<List<JsonElement>> HistoryAsync(HttpClient client, string sessionId)
    {
        using var response = await client.GetAsync(new Uri($"/sessions/{sessionId}", UriKind.Relative));
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return [.. body.RootElement.GetProperty("messages").EnumerateArray().Select(m => m.Clone())];
    }

    private static async Task<decimal> RemainingAsync(HttpClient client)
    {
        using var response = await client.PostAsync(new Uri("/credits/refresh", UriKind.Relative), null);
        response.EnsureSuccessStatusCode();
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("credits_remaining").GetDecimal();
    }
}
