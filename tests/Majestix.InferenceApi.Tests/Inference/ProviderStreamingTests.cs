using System.Text.Json;
using Majestix.InferenceApi.Inference.Providers;

namespace Majestix.InferenceApi.Tests.Inference;

[Collection(MockUpstreamCollection.Name)]
public sealed class ProviderStreamingTests(MockUpstreamFixture upstream) : IAsyncLifetime
{
    public Task InitializeAsync() => upstream.ResetAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Theory]
    [InlineData("claude-haiku", "/v1/messages", "claude-haiku-4-5")]
    [InlineData("gpt-5-mini", "/v1/chat/completions", "gpt-5-mini")]
    [InlineData("gemini-3-flash", "/v1/projects/majestix-test/locations/global/endpoints/openapi/chat/completions", "google/gemini-3-flash-preview")]
    [InlineData("deepseek-v3.2", "/api/v1/chat/completions", "deepseek/deepseek-v3.2")]
    public async Task StreamsTextAndReportsTheProvidersExactUsage(string modelKey, string path, string upstreamModel)
    {
        await using var host = ProviderTestHost.Create(upstream.BaseUrl);
        var run = host.Start(modelKey, Requests.Prompt("Tell me about rivers."));

        var events = await Requests.ReadAllAsync(run);

        var text = string.Concat(events.OfType<TextDelta>().Select(delta => delta.Text));
        events.OfType<TextDelta>().Count().ShouldBe(16);
        events[^1].ShouldBe(new Completed(FinishReason.Stop));
        var usage = events.OfType<Usage>().ShouldHaveSingleItem();
        usage.Source.ShouldBe(UsageSource.Provider);
        var logged = (await upstream.RequestsAsync()).ShouldHaveSingleItem();
        (logged.Path, logged.Model, logged.Stream).ShouldBe((path, upstreamModel, true));
        usage.InputTokens.ShouldBe(logged.InputTokens);
        usage.OutputTokens.ShouldBe(logged.OutputTokens);
        host.Counter.Count(text).ShouldBe(usage.OutputTokens);
        run.ServedBy!.Key.ShouldBe(modelKey);
        run.Usage.ShouldBe(usage);
    }

    // Event streams gain nothing from compression, and a compressing upstream would hold chunks back.
    [Theory]
    [InlineData("claude-haiku")]
    [InlineData("gpt-5-mini")]
    [InlineData("gemini-3-flash")]
    [InlineData("deepseek-v3.2")]
    public async Task ProvidersAreNotAskedToCompressTheirStreams(string modelKey)
    {
        await using var host = ProviderTestHost.Create(upstream.BaseUrl);

        await Requests.ReadAllAsync(host.Start(modelKey, Requests.Prompt("Tell me about rivers.")));

        var logged = (await upstream.RequestsAsync()).ShouldHaveSingleItem();
        logged.Outcome.ShouldBe("ok");
        logged.AcceptEncoding.ShouldBeNull();
    }

    [Theory]
    [InlineData("claude-sonnet")]
    [InlineData("gpt-5")]
    [InlineData("gemini-3-pro")]
    [InlineData("grok-4")]
    public async Task NonStreamingCollectsTheWholeAnswer(string modelKey)
    {
        await using var host = ProviderTestHost.Create(upstream.BaseUrl);

        var response = await host.Start(modelKey, Requests.Prompt("Summarise this. [[mock output_tokens=7]]")).CollectAsync();

        var logged = (await upstream.RequestsAsync()).ShouldHaveSingleItem();
        response.Text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length.ShouldBe(7);
        response.FinishReason.ShouldBe(FinishReason.Stop);
        response.Failure.ShouldBeNull();
        response.Usage.ShouldBe(new Usage(logged.InputTokens, 7));
    }

    [Theory]
    [InlineData("claude-haiku")]
    [InlineData("gpt-5-mini")]
    [InlineData("gemini-3-flash")]
    [InlineData("deepseek-v3.2")]
    public async Task ToolCallsArriveWholeWithRawJsonInput(string modelKey)
    {
        await using var host = ProviderTestHost.Create(upstream.BaseUrl);

        var events = await Requests.ReadAllAsync(host.Start(modelKey, Requests.Prompt("Weather in Oslo? [[mock tool_call=get_weather]]", tools: Requests.Weather)));

        var toolUse = events.OfType<ToolUse>().ShouldHaveSingleItem();
        toolUse.Name.ShouldBe("get_weather");
        toolUse.Id.ShouldNotBeNullOrEmpty();
        using var input = JsonDocument.Parse(toolUse.InputJson);
        input.RootElement.GetProperty("city").ValueKind.ShouldBe(JsonValueKind.String);
        events.OfType<TextDelta>().ShouldBeEmpty();
        events[^1].ShouldBe(new Completed(FinishReason.ToolUse));
        var logged = (await upstream.RequestsAsync()).ShouldHaveSingleItem();
        logged.ToolCall.ShouldBe("get_weather");
        events.OfType<Usage>().Single().OutputTokens.ShouldBe(logged.OutputTokens);
        host.Counter.Count(toolUse.InputJson).ShouldBe(logged.OutputTokens);
    }

    [Fact]
    public async Task ToolHistoryRoundTripsThroughBothFamilies()
    {
        await using var host = ProviderTestHost.Create(upstream.BaseUrl);
        var request = new ModelRequest
        {
            SystemPrompt = "You are terse.",
            Messages =
            [
                ModelMessage.User("Weather in Oslo?"),
                new ModelMessage(MessageRole.Assistant, [new TextBlock("Checking."), new ToolUseBlock("toolu_1", "get_weather", """{"city":"Oslo"}""")]),
                new ModelMessage(MessageRole.User, [new ToolResultBlock("toolu_1", "rain and wind", IsError: false), new TextBlock("Thanks, and tomorrow?")]),
            ],
            Tools = [Requests.Weather],
            MaxTokens = 256,
            Temperature = 0.2,
        };

        var anthropic = await host.Start("claude-haiku", request).CollectAsync();
        var openAI = await host.Start("gpt-5-mini", request).CollectAsync();

        var logged = await upstream.RequestsAsync();
        logged.Select(entry => entry.Status).ShouldBe([200, 200]);
        // Both providers bill the texts, the framing, the tool definition and the earlier tool call, as the gateway counts them;
        // on OpenAI's wire the tool result is a message of its own, framed once more.
        var counted = host.Counter.CountInput(request);
        var texts = new[] { "You are terse.", "Weather in Oslo?", "Checking.", "rain and wind", "Thanks, and tomorrow?" }.Sum(host.Counter.Count);
        counted.ShouldBeGreaterThan(texts + 4 * TokenCounter.MessageOverheadTokens);
        logged.Select(entry => entry.InputTokens).ShouldBe([counted, counted + TokenCounter.MessageOverheadTokens]);
        anthropic.Usage.InputTokens.ShouldBe(counted);
        openAI.Usage.InputTokens.ShouldBe(counted + TokenCounter.MessageOverheadTokens);
        logged[0].Body.ShouldContain("\"temperature\":0.2");
        logged[1].Body.ShouldContain("\"tool_call_id\":\"toolu_1\"");
    }

    [Fact]
    public async Task AnthropicThinkingStreamsBeforeTheAnswerAndCountsInUsage()
    {
        await using var host = ProviderTestHost.Create(upstream.BaseUrl);

        var events = await Requests.ReadAllAsync(host.Start("claude-sonnet", Requests.Prompt("Think first.", maxTokens: 4096, thinking: true)));

        var firstText = events.FindIndex(modelEvent => modelEvent is TextDelta);
        var thinkingDone = events.FindIndex(modelEvent => modelEvent is ThinkingDone);
        events.Take(thinkingDone).ShouldAllBe(modelEvent => modelEvent is ThinkingDelta);
        thinkingDone.ShouldBe(12);
        firstText.ShouldBeGreaterThan(thinkingDone);
        var logged = (await upstream.RequestsAsync()).ShouldHaveSingleItem();
        logged.Body.ShouldContain("\"thinking\":{");
        var usage = events.OfType<Usage>().Single();
        usage.OutputTokens.ShouldBe(12 + 16);
        usage.OutputTokens.ShouldBe(logged.OutputTokens);
    }

    [Fact]
    public async Task OpenAICompatibleReasoningContentBecomesThinking()
    {
        await using var host = ProviderTestHost.Create(upstream.BaseUrl);

        var events = await Requests.ReadAllAsync(host.Start("deepseek-v3.2", Requests.Prompt("Think first. [[mock thinking]]", thinking: true)));

        var thinking = events.OfType<ThinkingDelta>().ToList();
        thinking.Count.ShouldBe(12);
        events.IndexOf(events.OfType<ThinkingDone>().Single()).ShouldBe(12);
        events[13].ShouldBeOfType<TextDelta>();
        var logged = (await upstream.RequestsAsync()).ShouldHaveSingleItem();
        logged.Body.ShouldContain("\"reasoning\":{\"enabled\":true}");
        events.OfType<Usage>().Single().OutputTokens.ShouldBe(logged.OutputTokens);
        logged.OutputTokens.ShouldBe(12 + 16);
    }

    [Fact]
    public async Task VertexAsksForThoughtsThroughGooglesExtraBody()
    {
        await using var host = ProviderTestHost.Create(upstream.BaseUrl);

        var response = await host.Start("gemini-3-flash", Requests.Prompt("Think first. [[mock thinking]]", thinking: true)).CollectAsync();

        response.Thinking.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length.ShouldBe(12);
        var logged = (await upstream.RequestsAsync()).ShouldHaveSingleItem();
        logged.Body.ShouldContain("\"extra_body\":{\"google\":{\"thinking_config\":{\"include_thoughts\":true}}}");
    }

    [Fact]
    public async Task EachProviderSendsItsOwnCredentialAndVertexAGoogleBearerToken()
    {
        await using var host = ProviderTestHost.Create(upstream.BaseUrl);

        foreach (var model in new[] { "gpt-5-mini", "deepseek-v3.2", "gemini-3-flash", "claude-haiku" })
        {
            await host.Start(model, Requests.Prompt("hi")).CollectAsync();
        }

        var logged = await upstream.RequestsAsync();
        logged[0].Authorization.ShouldBe("Bearer ****" + ProviderTestHost.OpenAIKey[^4..]);
        logged[1].Authorization.ShouldBe("Bearer ****" + ProviderTestHost.OpenRouterKey[^4..]);
        logged[2].Authorization.ShouldBe("Bearer ****" + ProviderTestHost.GoogleToken[^4..]);
        // The Anthropic SDK (13.x) sends the API key as a bearer token.
        logged[3].Authorization.ShouldBe("Bearer ****" + ProviderTestHost.AnthropicKey[^4..]);
        logged.ShouldAllBe(entry => !entry.Body.Contains("sk-") && !entry.Body.Contains("ya29."));
    }

    [Fact]
    public async Task VertexUsesAConfiguredStaticTokenInsteadOfGoogleCredentials()
    {
        await using var host = ProviderTestHost.Create(upstream.BaseUrl, overrides: new Dictionary<string, string?>
        {
            ["Providers:Vertex:StaticAccessToken"] = "dev-vertex-token-9z8y",
        });

        await host.Start("gemini-3-flash", Requests.Prompt("hi")).CollectAsync();

        (await upstream.RequestsAsync()).ShouldHaveSingleItem().Authorization.ShouldBe("Bearer ****9z8y");
    }

    [Fact]
    public async Task CustomModelRunsOnItsBaseWithItsPromptFirst()
    {
        await using var host = ProviderTestHost.Create(upstream.BaseUrl);
        var request = Requests.Prompt("Plan a launch.") with { SystemPrompt = "Answer in English." };

        await host.Start("cmo-agent", request).CollectAsync();

        var logged = (await upstream.RequestsAsync()).ShouldHaveSingleItem();
        logged.Model.ShouldBe("claude-sonnet-4-5");
        using var body = JsonDocument.Parse(logged.Body);
        var system = body.RootElement.GetProperty("system").GetString()!;
        system.ShouldStartWith(host.Catalog.Find("cmo-agent")!.SystemPrompt!);
        system.ShouldEndWith("\n\nAnswer in English.");
    }
}
