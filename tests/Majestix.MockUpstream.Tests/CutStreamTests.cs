using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Majestix.MockUpstream.Tests;

// Cut streams over a real socket: what the client received must tokenize to exactly the count the
// mock logged, so a gateway that bills a cut stream with o200k gets the same number.
public class CutStreamTests(MockUpstreamApp app) : IClassFixture<MockUpstreamApp>
{
    [Fact]
    public async Task AbortedOpenAiStreamStopsAfterTheCutWithoutFinalChunks()
    {
        var model = MockUpstreamApp.UniqueModel("cut");
        using var response = await app.PostJsonAsync(
            "/v1/chat/completions", MockUpstreamApp.OpenAiBody(model, "[[mock cut_after_tokens=5]]", stream: true));

        var (events, error) = await SseReader.ReadAllAsync(response, Stopwatch.StartNew());

        error.ShouldNotBeNull(); // connection reset mid-body, not a clean end
        events.ShouldNotContain(e => e.Data == "[DONE]");
        events.ShouldNotContain(e => e.Data.Contains("finish_reason\":\"", StringComparison.Ordinal));
        var text = string.Concat(events.Select(e => JsonNode.Parse(e.Data)!["choices"]![0]!["delta"]!["content"]?.GetValue<string>()));
        MockUpstreamApp.Tokenizer.CountTokens(text).ShouldBe(5);
        var logged = (await app.RequestsForAsync(model)).ShouldHaveSingleItem()!;
        logged["outcome"]!.GetValue<string>().ShouldBe("cut");
        logged["output_tokens"]!.GetValue<int>().ShouldBe(5);
    }

    [Fact]
    public async Task EofCutAnthropicStreamEndsCleanlyWithoutMessageDeltaOrStop()
    {
        using var response = await app.PostJsonAsync(
            "/v1/messages", MockUpstreamApp.AnthropicBody(MockUpstreamApp.UniqueModel("cut"), "[[mock cut_after_tokens=4 cut_mode=eof]]", stream: true));

        var (events, error) = await SseReader.ReadAllAsync(response, Stopwatch.StartNew());

        error.ShouldBeNull();
        events.Select(e => e.Event).ShouldBe(
            ["message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_delta"]);
    }

    [Fact]
    public async Task CutAfterEveryTokenStillWithholdsTheClosingEvents()
    {
        using var response = await app.PostJsonAsync(
            "/v1/messages", MockUpstreamApp.AnthropicBody(MockUpstreamApp.UniqueModel("cut"), "[[mock output_tokens=3 cut_after_tokens=50]]", stream: true));

        var (events, error) = await SseReader.ReadAllAsync(response, Stopwatch.StartNew());

        error.ShouldNotBeNull();
        events.Count(e => e.Event == "content_block_delta").ShouldBe(3);
        events.ShouldNotContain(e => e.Event == "message_delta" || e.Event == "message_stop");
    }

    [Fact]
    public async Task CutInsideToolArgumentsReportsTheTokensOfTheArgumentPrefix()
    {
        var model = MockUpstreamApp.UniqueModel("cut");
        var body = new
        {
            model,
            max_tokens = 500,
            stream = true,
            messages = new object[] { new { role = "user", content = "[[mock tool_call cut_after_tokens=6 cut_mode=eof]]" } },
            tools = new object[]
            {
                new
                {
                    name = "search",
                    input_schema = new
                    {
                        type = "object",
                        properties = new { query = new { type = "string" }, tags = new { type = "array", items = new { type = "string" } } },
                    },
                },
            },
        };

        using var response = await app.PostJsonAsync("/v1/messages", body);
        var (events, _) = await SseReader.ReadAllAsync(response, Stopwatch.StartNew());

        var partial = string.Concat(events
            .Where(e => e.Event == "content_block_delta")
            .Select(e => JsonNode.Parse(e.Data)!["delta"]!["partial_json"]!.GetValue<string>()));
        var sent = MockUpstreamApp.Tokenizer.CountTokens(partial);
        sent.ShouldBeInRange(1, 6);
        (await app.RequestsForAsync(model)).ShouldHaveSingleItem()!["output_tokens"]!.GetValue<int>().ShouldBe(sent);
    }

    [Fact]
    public async Task ErrorCutOpenAiStreamEndsWithAnErrorChunk()
    {
        using var response = await app.PostJsonAsync(
            "/v1/chat/completions", MockUpstreamApp.OpenAiBody(MockUpstreamApp.UniqueModel("cut"), "[[mock cut_after_tokens=2 cut_mode=error]]", stream: true));

        var (events, error) = await SseReader.ReadAllAsync(response, Stopwatch.StartNew());

        error.ShouldBeNull();
        JsonNode.Parse(events[^1].Data)!["error"]!["type"]!.GetValue<string>().ShouldBe("server_error");
        events.ShouldNotContain(e => e.Data == "[DONE]");
    }

    [Fact]
    public async Task NonStreamingCutDropsTheConnectionBeforeAnyResponse()
    {
        await Should.ThrowAsync<HttpRequestException>(async () =>
        {
            using var response = await app.PostJsonAsync(
                "/v1/chat/completions", MockUpstreamApp.OpenAiBody(MockUpstreamApp.UniqueModel("cut"), "[[mock cut_after_tokens=1]]"));
            await response.Content.ReadFromJsonAsync<JsonObject>();
        });
    }

    [Fact]
    public async Task ServerKeepsServingAfterCutConnections()
    {
        using var response = await app.PostJsonAsync("/v1/chat/completions", MockUpstreamApp.OpenAiBody(MockUpstreamApp.UniqueModel("ok"), "fine"));

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
    }
}
