using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Majestix.MockUpstream.Control;

namespace Majestix.MockUpstream.Tests;

public class ControlTests(MockUpstreamApp app) : IClassFixture<MockUpstreamApp>
{
    [Fact]
    public async Task ServesHealthOverARealLoopbackSocket()
    {
        using var plain = new HttpClient(); // not the factory's client: proves a Kestrel socket is listening
        var health = await plain.GetStringAsync(new Uri(app.BaseAddress, "/health"));

        health.ShouldBe("ok");
        app.BaseAddress.IsLoopback.ShouldBeTrue();
    }

    [Fact]
    public async Task ModelsListUsesTheOpenAiShapeOrTheAnthropicShapeForAnthropicCallers()
    {
        var openAi = await app.Http.GetFromJsonAsync<JsonObject>("/v1/models");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        request.Headers.Add("anthropic-version", "2023-06-01");
        using var anthropicResponse = await app.Http.SendAsync(request);
        var anthropic = await anthropicResponse.Content.ReadFromJsonAsync<JsonObject>();

        openAi!["object"]!.GetValue<string>().ShouldBe("list");
        openAi["data"]!.AsArray().Select(m => m!["id"]!.GetValue<string>()).ShouldContain("gpt-5-mini");
        openAi["data"]![0]!["object"]!.GetValue<string>().ShouldBe("model");
        anthropic!["data"]![0]!["type"]!.GetValue<string>().ShouldBe("model");
        anthropic["has_more"]!.GetValue<bool>().ShouldBeFalse();
    }

    [Fact]
    public async Task RequestLogRecordsWhatTheCallerSentInArrivalOrder()
    {
        var model = MockUpstreamApp.UniqueModel("log");

        using (await app.PostJsonAsync(
            "/api/v1/chat/completions",
            MockUpstreamApp.OpenAiBody(model, "first [[mock output_tokens=2]]", stream: true, maxTokens: 50),
            ("Authorization", "Bearer sk-live-abcdefgh"), ("X-Mock-Latency-Ms", "1"), ("HTTP-Referer", "https://majestix.test")))
        {
        }
        using (await app.PostJsonAsync("/v1/messages", MockUpstreamApp.AnthropicBody(model, "second"), ("x-api-key", "sk-ant-secret-wxyz")))
        {
        }
        var entries = await app.RequestsForAsync(model);

        entries.Count.ShouldBe(2);
        var first = entries[0]!;
        first["path"]!.GetValue<string>().ShouldBe("/api/v1/chat/completions");
        first["provider"]!.GetValue<string>().ShouldBe("openai");
        first["stream"]!.GetValue<bool>().ShouldBeTrue();
        first["max_tokens"]!.GetValue<int>().ShouldBe(50);
        first["message_count"]!.GetValue<int>().ShouldBe(1);
        first["output_tokens"]!.GetValue<int>().ShouldBe(2);
        first["headers"]!["authorization"]!.GetValue<string>().ShouldBe("Bearer ****efgh");
        first["headers"]!["x-mock-latency-ms"]!.GetValue<string>().ShouldBe("1");
        first["headers"]!["http-referer"]!.GetValue<string>().ShouldBe("https://majestix.test");
        first["behaviour"]!.AsObject().Select(p => (p.Key, p.Value!.GetValue<string>()))
            .ShouldBe([("latency_ms", "1"), ("output_tokens", "2")], ignoreOrder: true);
        var second = entries[1]!;
        second["provider"]!.GetValue<string>().ShouldBe("anthropic");
        second["headers"]!["x-api-key"]!.GetValue<string>().ShouldBe("****wxyz");
        second["seq"]!.GetValue<long>().ShouldBeGreaterThan(first["seq"]!.GetValue<long>());
        second["body"]!.GetValue<string>().ShouldContain("\"second\"");
    }

    [Fact]
    public void RequestLogKeepsOnlyTheMostRecentEntries()
    {
        var log = new RequestLog(3);
        for (var i = 0; i < 5; i++)
        {
            log.Add(new RequestLogEntry { Seq = log.NextSeq(), Method = "POST", Path = $"/{i}", Provider = "openai" });
        }

        log.Snapshot().Select(e => e.Path).ShouldBe(["/2", "/3", "/4"]);
        log.Clear();
        log.Snapshot().ShouldBeEmpty();
    }

    [Fact]
    public async Task CountTokensAnswersWithTheInputTokenRule()
    {
        var body = new
        {
            model = "claude-haiku",
            system = "sys prompt",
            messages = new object[] { new { role = "user", content = "count these words" } },
        };

        using var response = await app.PostJsonAsync("/v1/messages/count_tokens", body);
        var json = await response.Content.ReadFromJsonAsync<JsonObject>();

        json!["input_tokens"]!.GetValue<int>().ShouldBe(
            3 + 4 + 4 + MockUpstreamApp.Tokenizer.CountTokens("sys prompt") + MockUpstreamApp.Tokenizer.CountTokens("count these words"));
    }

    [Fact]
    public async Task UnknownPathsAre404()
    {
        using var post = await app.PostJsonAsync("/v1/embeddings", new { model = "m" });
        using var get = await app.Http.GetAsync("/v1/nothing");

        post.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        get.StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }
}

// Clearing the log is global, so it gets an app of its own.
public class RequestLogResetTests(MockUpstreamApp app) : IClassFixture<MockUpstreamApp>
{
    [Fact]
    public async Task DeleteClearsTheRequestLog()
    {
        await app.Http.DeleteAsync("/_mock/requests");
        using (await app.PostJsonAsync("/v1/chat/completions", MockUpstreamApp.OpenAiBody("m", "hi")))
        {
        }
        (await app.Http.GetFromJsonAsync<JsonArray>("/_mock/requests"))!.Count.ShouldBe(1);

        (await app.Http.DeleteAsync("/_mock/requests")).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        (await app.Http.GetFromJsonAsync<JsonArray>("/_mock/requests"))!.ShouldBeEmpty();
    }

    [Fact]
    public async Task ResetClearsBehavioursCountersAndTheLog()
    {
        (await app.Http.PutAsJsonAsync("/_mock/models/reset-me", new { status = 500, fail_times = 1 })).EnsureSuccessStatusCode();
        using (await app.PostJsonAsync("/v1/chat/completions", MockUpstreamApp.OpenAiBody("reset-me", "hi")))
        {
        }

        (await app.Http.PostAsync("/_mock/reset", null)).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        (await app.Http.GetFromJsonAsync<JsonObject>("/_mock/models"))!["runtime"]!.AsObject().ShouldBeEmpty();
        (await app.Http.GetFromJsonAsync<JsonArray>("/_mock/requests"))!.ShouldBeEmpty();
        using var after = await app.PostJsonAsync("/v1/chat/completions", MockUpstreamApp.OpenAiBody("reset-me", "hi"));
        after.StatusCode.ShouldBe(HttpStatusCode.OK);
    }
}
