using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Majestix.MockUpstream.Tests;

public class BehaviourTests(MockUpstreamApp app) : IClassFixture<MockUpstreamApp>
{
    public static TheoryData<string, int, string> ErrorCases => new()
    {
        { "openai", 400, "invalid_request_error" },
        { "openai", 401, "invalid_request_error" },
        { "openai", 403, "permission_error" },
        { "openai", 404, "invalid_request_error" },
        { "openai", 429, "requests" },
        { "openai", 500, "server_error" },
        { "openai", 502, "server_error" },
        { "openai", 503, "server_error" },
        { "anthropic", 400, "invalid_request_error" },
        { "anthropic", 401, "authentication_error" },
        { "anthropic", 402, "billing_error" },
        { "anthropic", 403, "permission_error" },
        { "anthropic", 404, "not_found_error" },
        { "anthropic", 413, "request_too_large" },
        { "anthropic", 429, "rate_limit_error" },
        { "anthropic", 500, "api_error" },
        { "anthropic", 503, "api_error" },
        { "anthropic", 504, "timeout_error" },
        { "anthropic", 529, "overloaded_error" },
    };

    [Theory]
    [MemberData(nameof(ErrorCases))]
    public async Task InjectedStatusReturnsAProviderShapedErrorBody(string provider, int status, string errorType)
    {
        var model = MockUpstreamApp.UniqueModel("err");
        var prompt = $"[[mock status={status}]]";

        using var response = provider == "openai"
            ? await app.PostJsonAsync("/v1/chat/completions", MockUpstreamApp.OpenAiBody(model, prompt))
            : await app.PostJsonAsync("/v1/messages", MockUpstreamApp.AnthropicBody(model, prompt));
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();

        ((int)response.StatusCode).ShouldBe(status);
        body!["error"]!["type"]!.GetValue<string>().ShouldBe(errorType);
        body["error"]!["message"]!.GetValue<string>().ShouldContain($"injected HTTP {status}");
        if (provider == "anthropic")
        {
            body["type"]!.GetValue<string>().ShouldBe("error");
            body["request_id"]!.GetValue<string>().ShouldBe(response.Headers.GetValues("request-id").Single());
        }
        else
        {
            body["error"]!.AsObject().ContainsKey("code").ShouldBeTrue();
        }
        var logged = (await app.RequestsForAsync(model)).ShouldHaveSingleItem()!;
        logged["outcome"]!.GetValue<string>().ShouldBe("error");
        logged["status"]!.GetValue<int>().ShouldBe(status);
    }

    [Fact]
    public async Task RetryAfterKnobSetsTheRetryAfterHeader()
    {
        using var response = await app.PostJsonAsync(
            "/v1/chat/completions", MockUpstreamApp.OpenAiBody(MockUpstreamApp.UniqueModel("err"), "[[mock status=429 retry_after=7]]"));

        response.StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
        response.Headers.RetryAfter!.Delta.ShouldBe(TimeSpan.FromSeconds(7));
    }

    [Fact]
    public async Task FailTimesFailsOnlyTheFirstRequestsForThatModel()
    {
        var model = MockUpstreamApp.UniqueModel("flaky");
        var other = MockUpstreamApp.UniqueModel("steady");
        (await app.Http.PutAsJsonAsync($"/_mock/models/{model}", new { status = 503, fail_times = 2 })).EnsureSuccessStatusCode();
        (await app.Http.PutAsJsonAsync($"/_mock/models/{other}", new { status = 503, fail_times = 1 })).EnsureSuccessStatusCode();

        var statuses = new List<int>();
        for (var i = 0; i < 4; i++)
        {
            using var response = await app.PostJsonAsync("/v1/chat/completions", MockUpstreamApp.OpenAiBody(model, "hi"));
            statuses.Add((int)response.StatusCode);
        }
        using var otherResponse = await app.PostJsonAsync("/v1/chat/completions", MockUpstreamApp.OpenAiBody(other, "hi"));

        statuses.ShouldBe([503, 503, 200, 200]);
        otherResponse.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable); // its own counter
    }

    [Fact]
    public async Task FailKeyGivesDirectiveScriptedFailuresTheirOwnCounter()
    {
        var model = MockUpstreamApp.UniqueModel("shared");
        var key = Guid.NewGuid().ToString("N");

        async Task<int> Send(string prompt)
        {
            using var response = await app.PostJsonAsync("/v1/messages", MockUpstreamApp.AnthropicBody(model, prompt));
            return (int)response.StatusCode;
        }

        var first = await Send($"[[mock status=529 fail_times=1 fail_key={key}]]");
        var second = await Send($"[[mock status=529 fail_times=1 fail_key={key}]]");
        var freshKey = await Send($"[[mock status=529 fail_times=1 fail_key={key}-b]]");

        (first, second, freshKey).ShouldBe((529, 200, 529));
    }

    [Fact]
    public async Task LatencyDelaysTheResponseHeaders()
    {
        var clock = Stopwatch.StartNew();

        using var response = await app.PostJsonAsync(
            "/v1/chat/completions", MockUpstreamApp.OpenAiBody(MockUpstreamApp.UniqueModel("slow"), "[[mock latency_ms=300]]"));

        clock.Elapsed.ShouldBeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(300));
        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(3));
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task TtftDelaysTheFirstTokenAfterTheHeaders()
    {
        var clock = Stopwatch.StartNew();
        using var response = await app.PostJsonAsync(
            "/v1/messages", MockUpstreamApp.AnthropicBody(MockUpstreamApp.UniqueModel("slow"), "[[mock ttft_ms=400]]", stream: true));
        var headersAt = clock.Elapsed;

        var (events, error) = await SseReader.ReadAllAsync(response, clock);

        error.ShouldBeNull();
        var firstToken = events.First(e => e.Event == "content_block_delta").At;
        firstToken.ShouldBeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(400));
        firstToken.ShouldBeLessThan(TimeSpan.FromSeconds(4));
        headersAt.ShouldBeLessThan(firstToken);
        events.First(e => e.Event == "message_start").At.ShouldBeLessThan(firstToken - TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task TokensPerSecondPacesTheStream()
    {
        var clock = Stopwatch.StartNew();
        using var response = await app.PostJsonAsync(
            "/v1/chat/completions",
            MockUpstreamApp.OpenAiBody(MockUpstreamApp.UniqueModel("slow"), "[[mock output_tokens=11 tokens_per_second=50]]", stream: true));

        var (events, _) = await SseReader.ReadAllAsync(response, clock);

        var tokens = events.Where(e => e.Data.Contains("\"content\":\" ", StringComparison.Ordinal)).ToList();
        tokens.Count.ShouldBe(11);
        // Token i is due i/50 s after the first: a fixed schedule, so the last one cannot come before 200 ms.
        tokens[^1].At.ShouldBeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(200));
        tokens[^1].At.ShouldBeLessThan(TimeSpan.FromSeconds(3));
        tokens[5].At.ShouldBeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task NonStreamingResponseWaitsForTtftAndGenerationTime()
    {
        var clock = Stopwatch.StartNew();

        using var response = await app.PostJsonAsync(
            "/v1/messages",
            MockUpstreamApp.AnthropicBody(MockUpstreamApp.UniqueModel("slow"), "[[mock ttft_ms=100 output_tokens=11 tokens_per_second=50]]"));

        clock.Elapsed.ShouldBeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(300));
        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task HeadersBeatDirectivesWhichBeatModelBehaviourWhichBeatsConfiguration()
    {
        var model = MockUpstreamApp.ConfiguredModel; // output_tokens=4 and thinking_tokens=2 from configuration
        (await app.Http.PutAsJsonAsync($"/_mock/models/{model}", new { output_tokens = 7, thinking = true })).EnsureSuccessStatusCode();
        try
        {
            async Task<JsonObject> Send(string prompt, params (string, string)[] headers)
            {
                using var response = await app.PostJsonAsync("/v1/messages", MockUpstreamApp.AnthropicBody(model, prompt), headers);
                return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
            }

            var fromHeader = await Send("[[mock output_tokens=5]]", ("X-Mock-Output-Tokens", "3"));
            var fromDirective = await Send("[[mock output_tokens=5]]");
            var fromModel = await Send("plain");
            (await app.Http.DeleteAsync($"/_mock/models/{model}")).EnsureSuccessStatusCode();
            var fromConfig = await Send("plain");

            // Output = thinking (2, from configuration, while the runtime behaviour turns thinking on) + text.
            fromHeader["usage"]!["output_tokens"]!.GetValue<int>().ShouldBe(2 + 3);
            fromDirective["usage"]!["output_tokens"]!.GetValue<int>().ShouldBe(2 + 5);
            fromModel["usage"]!["output_tokens"]!.GetValue<int>().ShouldBe(2 + 7);
            fromConfig["usage"]!["output_tokens"]!.GetValue<int>().ShouldBe(4);
            var log = await app.RequestsForAsync(model);
            log[0]!["behaviour_sources"]!.AsArray().Select(s => s!.GetValue<string>())
                .ShouldBe(["header", "directive", "model", "config_model", "defaults"]);
            log[0]!["behaviour"]!["output_tokens"]!.GetValue<string>().ShouldBe("3");
        }
        finally
        {
            await app.Http.DeleteAsync($"/_mock/models/{model}");
        }
    }

    [Fact]
    public async Task DirectiveIsReadOnlyFromTheLastUserMessage()
    {
        var model = MockUpstreamApp.UniqueModel("dir");
        var body = new
        {
            model,
            messages = new object[]
            {
                new { role = "system", content = "[[mock status=500]]" },
                new { role = "user", content = "[[mock status=500]]" },
                new { role = "assistant", content = "ok" },
                new { role = "user", content = new object[] { new { type = "text", text = "now [[mock output_tokens=3]]" } } },
            },
        };

        using var response = await app.PostJsonAsync("/v1/chat/completions", body);
        var json = await response.Content.ReadFromJsonAsync<JsonObject>();

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        json!["usage"]!["completion_tokens"]!.GetValue<int>().ShouldBe(3);
    }

    [Theory]
    [InlineData("X-Mock-Latency", "5")]
    [InlineData("X-Mock-Status", "abc")]
    public async Task InvalidMockHeaderIsRejectedWith400(string header, string value)
    {
        using var response = await app.PostJsonAsync(
            "/v1/chat/completions", MockUpstreamApp.OpenAiBody(MockUpstreamApp.UniqueModel("bad"), "hi"), (header, value));
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        body!["error"]!["message"]!.GetValue<string>().ShouldContain("mock knob");
    }

    [Fact]
    public async Task PutRejectsUnknownKnobsAndListsStoredBehaviour()
    {
        var model = MockUpstreamApp.UniqueModel("put");

        using var bad = await app.Http.PutAsJsonAsync($"/_mock/models/{model}", new { latncy_ms = 5 });
        using var good = await app.Http.PutAsJsonAsync($"/_mock/models/vendor/{model}", new { latency_ms = 5, tool_call = "x" });
        var listing = await app.Http.GetFromJsonAsync<JsonObject>("/_mock/models");

        bad.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        good.StatusCode.ShouldBe(HttpStatusCode.OK);
        listing!["runtime"]![$"vendor/{model}"]!["latency_ms"]!.GetValue<string>().ShouldBe("5");
        listing["configured"]![MockUpstreamApp.ConfiguredModel]!["output_tokens"]!.GetValue<string>().ShouldBe("4");
        listing["defaults"]!["output_tokens"]!.GetValue<string>().ShouldBe("16");
    }

    [Fact]
    public async Task MalformedRequestsGetA400InTheProvidersShape()
    {
        using var noModel = await app.PostJsonAsync("/v1/chat/completions", new { messages = Array.Empty<object>() });
        using var noMaxTokens = await app.PostJsonAsync("/v1/messages", new { model = "m", messages = Array.Empty<object>() });
        using var notJson = await app.Http.PostAsync("/v1/messages", new StringContent("{oops"));

        noModel.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await noModel.Content.ReadFromJsonAsync<JsonObject>())!["error"]!["type"]!.GetValue<string>().ShouldBe("invalid_request_error");
        noMaxTokens.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await noMaxTokens.Content.ReadFromJsonAsync<JsonObject>())!["error"]!["message"]!.GetValue<string>().ShouldContain("max_tokens");
        notJson.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task SamePromptGivesTheSameTextStreamedOrNot()
    {
        var model = MockUpstreamApp.UniqueModel("det");

        async Task<string> Complete(string prompt)
        {
            using var response = await app.PostJsonAsync("/v1/chat/completions", MockUpstreamApp.OpenAiBody(model, prompt));
            return (await response.Content.ReadFromJsonAsync<JsonObject>())!["choices"]![0]!["message"]!["content"]!.GetValue<string>();
        }

        var first = await Complete("alpha");
        var again = await Complete("alpha");
        var other = await Complete("beta");
        using var streamed = await app.PostJsonAsync("/v1/chat/completions", MockUpstreamApp.OpenAiBody(model, "alpha", stream: true));
        var (events, _) = await SseReader.ReadAllAsync(streamed, Stopwatch.StartNew());
        var streamedText = string.Concat(events
            .Where(e => e.Data.StartsWith('{'))
            .Select(e => JsonNode.Parse(e.Data)!["choices"]!.AsArray().FirstOrDefault()?["delta"]?["content"]?.GetValue<string>()));

        again.ShouldBe(first);
        other.ShouldNotBe(first);
        streamedText.ShouldBe(first);
    }

    [Fact]
    public async Task AnthropicMaxTokensTruncatesWithMaxTokensStopReason()
    {
        using var response = await app.PostJsonAsync(
            "/v1/messages", MockUpstreamApp.AnthropicBody(MockUpstreamApp.UniqueModel("cap"), "long", maxTokens: 6));
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();

        body!["stop_reason"]!.GetValue<string>().ShouldBe("max_tokens");
        body["usage"]!["output_tokens"]!.GetValue<int>().ShouldBe(6);
        MockUpstreamApp.Tokenizer.CountTokens(body["content"]![0]!["text"]!.GetValue<string>()).ShouldBe(6);
    }

    [Fact]
    public async Task ConcurrentRequestsEachGetTheirOwnAnswer()
    {
        // Guards the zero-copy body parsing: releasing a request buffer too early corrupts other requests
        // (probabilistic: with that bug this fails about a third of the time).
        var prefix = MockUpstreamApp.UniqueModel("par");

        var results = await Task.WhenAll(Enumerable.Range(0, 500).Select(async i =>
        {
            var model = $"{prefix}-{i}";
            using var response = await app.PostJsonAsync(
                "/v1/chat/completions", MockUpstreamApp.OpenAiBody(model, $"request {i} [[mock output_tokens={(i % 9) + 1}]]"));
            var body = await response.Content.ReadFromJsonAsync<JsonObject>();
            return (i, model, response.StatusCode, body);
        }));

        foreach (var (i, model, status, body) in results)
        {
            status.ShouldBe(HttpStatusCode.OK);
            body!["model"]!.GetValue<string>().ShouldBe(model);
            body["usage"]!["completion_tokens"]!.GetValue<int>().ShouldBe((i % 9) + 1);
        }
    }

    [Fact]
    public async Task OpenAiThinkingStreamsReasoningContentCountedAsReasoningTokens()
    {
        using var plain = await app.PostJsonAsync(
            "/v1/chat/completions", MockUpstreamApp.OpenAiBody(MockUpstreamApp.UniqueModel("think"), "[[mock thinking=true]]"));
        var body = await plain.Content.ReadFromJsonAsync<JsonObject>();
        using var streamed = await app.PostJsonAsync(
            "/v1/chat/completions", MockUpstreamApp.OpenAiBody(MockUpstreamApp.UniqueModel("think"), "[[mock thinking=true]]", stream: true));
        var (events, _) = await SseReader.ReadAllAsync(streamed, Stopwatch.StartNew());

        var reasoning = body!["choices"]![0]!["message"]!["reasoning_content"]!.GetValue<string>();
        MockUpstreamApp.Tokenizer.CountTokens(reasoning).ShouldBe(12);
        body["usage"]!["completion_tokens_details"]!["reasoning_tokens"]!.GetValue<int>().ShouldBe(12);
        body["usage"]!["completion_tokens"]!.GetValue<int>().ShouldBe(12 + 16);
        events.Count(e => e.Data.Contains("\"reasoning_content\"", StringComparison.Ordinal)).ShouldBe(12);
        JsonNode.Parse(events[^2].Data)!["usage"]!["completion_tokens"]!.GetValue<int>().ShouldBe(28);
    }
}
