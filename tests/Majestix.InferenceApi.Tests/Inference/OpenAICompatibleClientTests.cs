using System.Net;
using System.Text;
using System.Text.Json;
using Majestix.InferenceApi.Inference.Providers;
using Majestix.InferenceApi.Inference.Providers.OpenAiCompatible;

namespace Majestix.InferenceApi.Tests.Inference;

/// <summary>
/// The hand-written Chat Completions client against scripted HTTP answers: wire shapes the mock upstream
/// does not produce (fragments split mid-token, several tool calls, events cut mid-way, error bodies).
/// </summary>
public sealed class OpenAICompatibleClientTests
{
    [Fact]
    public async Task ToolCallsSplitAcrossManyDeltasArriveWholeInIndexOrder()
    {
        var handler = new ScriptedHandler(HttpStatusCode.OK, Sse(
            """{"choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"get_time","arguments":""}}]},"finish_reason":null}]}""",
            """{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":"{\"ci"}}]},"finish_reason":null}]}""",
            """{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{}"}}]},"finish_reason":null}]}""",
            """{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"ty\":\"Os"}}]},"finish_reason":null}]}""",
            """{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"lo\"}"}}]},"finish_reason":null}]}""",
            """{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"usage":null}""",
            """{"choices":[],"usage":{"prompt_tokens":21,"completion_tokens":9,"total_tokens":30,"completion_tokens_details":{"reasoning_tokens":0}}}""",
            "[DONE]"));
        var received = new ReceivedOutput();

        var events = await ReadAllAsync(Provider(handler), received);

        events.ShouldBe(
        [
            new ToolUse("call_a", "get_weather", """{"city":"Oslo"}"""),
            new ToolUse("call_b", "get_time", "{}"),
            new Usage(21, 9),
            new Completed(FinishReason.ToolUse),
        ]);
        received.ToolArguments.ShouldBe(["{}", """{"city":"Oslo"}"""], ignoreOrder: true);
    }

    [Fact]
    public async Task ReasoningThenTextThenUnknownFinishReason()
    {
        var handler = new ScriptedHandler(HttpStatusCode.OK, Sse(
            """{"choices":[{"delta":{"reasoning_content":"Let me"},"finish_reason":null}]}""",
            """{"choices":[{"delta":{"reasoning_content":" think."},"finish_reason":null}]}""",
            """{"choices":[{"delta":{"content":"Hi \u00e9"},"finish_reason":null}]}""",
            """{"choices":[{"delta":{"content":""},"finish_reason":"MALFORMED_FUNCTION_CALL"}]}""")
            + ": keep-alive comment\n\n");
        var received = new ReceivedOutput();

        var events = await ReadAllAsync(Provider(handler), received);

        events.ShouldBe(
        [
            new ThinkingDelta("Let me"),
            new ThinkingDelta(" think."),
            new ThinkingDone(),
            new TextDelta("Hi é"),
            new Completed(FinishReason.Other),
        ]);
        (received.Thinking, received.Text).ShouldBe(("Let me think.", "Hi é"));
    }

    [Theory]
    [InlineData("data: {\"choices\":[{\"delta\":{\"content\":\" more")]
    [InlineData("data: {\"choices\":[{\"delta\":{\"content\":\" more\"},\"finish_reason\":null}]}\n")]
    [InlineData("")]
    public async Task StreamEndingBeforeTheFinishReasonIsCutAndKeepsWhatArrived(string tail)
    {
        var handler = new ScriptedHandler(HttpStatusCode.OK, Sse("""{"choices":[{"delta":{"content":"Once"},"finish_reason":null}]}""") + tail);
        var received = new ReceivedOutput();
        var events = new List<ModelEvent>();

        var failure = await Should.ThrowAsync<ProviderFailureException>(async () =>
        {
            await foreach (var modelEvent in Provider(handler).StreamAsync(Request(), received, CancellationToken.None))
            {
                events.Add(modelEvent);
            }
        });

        failure.Kind.ShouldBe(ProviderFailureKind.StreamCut);
        failure.IsFallbackEligible.ShouldBeTrue();
        events[0].ShouldBe(new TextDelta("Once"));
        received.Text.ShouldStartWith("Once");
    }

    [Theory]
    [InlineData(429, ProviderFailureKind.RateLimited, true)]
    [InlineData(503, ProviderFailureKind.ServerError, true)]
    [InlineData(400, ProviderFailureKind.InvalidRequest, false)]
    public async Task ErrorStatusIsClassifiedAndItsMessageKeptOnlyForLogs(int status, ProviderFailureKind kind, bool fallback)
    {
        var handler = new ScriptedHandler((HttpStatusCode)status,
            """{"error":{"message":"secret upstream detail","type":"requests","param":null,"code":"rate_limit_exceeded"}}""");

        var failure = await Should.ThrowAsync<ProviderFailureException>(() => ReadAllAsync(Provider(handler), new ReceivedOutput()));

        (failure.Kind, failure.UpstreamStatus, failure.IsFallbackEligible).ShouldBe((kind, status, fallback));
        failure.Message.ShouldNotContain("secret upstream detail");
        failure.InnerException!.Message.ShouldContain("secret upstream detail");
    }

    [Fact]
    public async Task NonJsonErrorBodyIsKeptBoundedForLogs()
    {
        var handler = new ScriptedHandler(HttpStatusCode.BadGateway, "<html>" + new string('x', 100_000) + "</html>");

        var failure = await Should.ThrowAsync<ProviderFailureException>(() => ReadAllAsync(Provider(handler), new ReceivedOutput()));

        failure.UpstreamStatus.ShouldBe(502);
        failure.InnerException!.Message.ShouldContain("<html>xxx");
        failure.InnerException.Message.Length.ShouldBeLessThan(1024);
    }

    [Fact]
    public async Task SendsTheChatCompletionsRequestWithTheBearerTokenAndDialectExtras()
    {
        var handler = new ScriptedHandler(HttpStatusCode.OK, Sse("""{"choices":[{"delta":{},"finish_reason":"stop"}]}""", "[DONE]"));
        var provider = new OpenAICompatibleProvider(OpenAICompatibleDialect.OpenRouter, new Uri("http://upstream.test/api/v1/"),
            _ => Task.FromResult("sk-or-token"), new HttpClient(handler), TimeSpan.FromSeconds(30));
        var request = Request() with
        {
            SystemPrompt = "Be brief.",
            Temperature = 0.5,
            EnableThinking = true,
            Tools = [Requests.Weather],
        };

        await ReadAllAsync(provider, new ReceivedOutput(), request);

        handler.RequestUri.ShouldBe(new Uri("http://upstream.test/api/v1/chat/completions"));
        handler.Authorization.ShouldBe("Bearer sk-or-token");
        handler.ContentType.ShouldBe("application/json");
        using var body = JsonDocument.Parse(handler.Body!);
        var root = body.RootElement;
        root.GetProperty("model").GetString().ShouldBe("test-model");
        root.GetProperty("max_completion_tokens").GetInt32().ShouldBe(64);
        root.GetProperty("temperature").GetDouble().ShouldBe(0.5);
        root.GetProperty("stream").GetBoolean().ShouldBeTrue();
        root.GetProperty("stream_options").GetProperty("include_usage").GetBoolean().ShouldBeTrue();
        root.GetProperty("reasoning").GetProperty("enabled").GetBoolean().ShouldBeTrue();
        root.GetProperty("messages")[0].GetProperty("content").GetString().ShouldBe("Be brief.");
        var function = root.GetProperty("tools")[0].GetProperty("function");
        function.GetProperty("parameters").GetProperty("required")[0].GetString().ShouldBe("city");
    }

    private static ModelRequest Request() => Requests.Prompt("hello", maxTokens: 64) with { Model = "test-model" };

    private static OpenAICompatibleProvider Provider(ScriptedHandler handler) =>
        new(OpenAICompatibleDialect.OpenAI, new Uri("http://upstream.test/v1/"), _ => Task.FromResult("sk-test"), new HttpClient(handler), TimeSpan.FromSeconds(30));

    private static async Task<List<ModelEvent>> ReadAllAsync(OpenAICompatibleProvider provider, ReceivedOutput received, ModelRequest? request = null)
    {
        var events = new List<ModelEvent>();
        await foreach (var modelEvent in provider.StreamAsync(request ?? Request(), received, CancellationToken.None))
        {
            events.Add(modelEvent);
        }
        return events;
    }

    private static string Sse(params string[] data) => string.Concat(data.Select(item => $"data: {item}\n\n"));

    private sealed class ScriptedHandler(HttpStatusCode status, string body) : HttpMessageHandler
    {
        public Uri? RequestUri { get; private set; }

        public string? Authorization { get; private set; }

        public string? ContentType { get; private set; }

        public string? Body { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            RequestUri = request.RequestUri;
            Authorization = request.Headers.Authorization?.ToString();
            ContentType = request.Content?.Headers.ContentType?.MediaType;
            Body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
            return new HttpResponseMessage(status) { Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(body))) };
        }
    }
}
