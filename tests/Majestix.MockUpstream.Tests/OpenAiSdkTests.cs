using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;

namespace Majestix.MockUpstream.Tests;

// The official OpenAI .NET SDK, pointed at the mock, must parse everything it sends.
public class OpenAiSdkTests(MockUpstreamApp app) : IClassFixture<MockUpstreamApp>
{
    private static readonly BinaryData WeatherSchema = BinaryData.FromString("""
        {"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]},"days":{"type":"integer"}},"required":["city","unit","days"]}
        """);

    private ChatClient Client(string model, string basePath = "/v1") => new(model, new ApiKeyCredential("sk-test-key-1234"), new OpenAIClientOptions
    {
        Endpoint = new Uri(app.BaseAddress, basePath),
        RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
    });

    [Fact]
    public async Task NonStreamingCompletionParsesWithExactUsage()
    {
        var model = MockUpstreamApp.UniqueModel("oai");
        const string system = "You are terse.";
        const string prompt = "Tell me about rivers and valleys.";

        ChatCompletion completion = await Client(model).CompleteChatAsync([new SystemChatMessage(system), new UserChatMessage(prompt)]);

        var text = completion.Content.ShouldHaveSingleItem().Text;
        completion.FinishReason.ShouldBe(ChatFinishReason.Stop);
        completion.Model.ShouldBe(model);
        completion.Usage.OutputTokenCount.ShouldBe(16);
        completion.Usage.OutputTokenCount.ShouldBe(MockUpstreamApp.Tokenizer.CountTokens(text));
        completion.Usage.InputTokenCount.ShouldBe(3 + 4 + 4 + MockUpstreamApp.Tokenizer.CountTokens(system) + MockUpstreamApp.Tokenizer.CountTokens(prompt));
        completion.Usage.TotalTokenCount.ShouldBe(completion.Usage.InputTokenCount + completion.Usage.OutputTokenCount);
    }

    [Fact]
    public async Task StreamingWithUsageReportsExactlyTheStreamedTokens()
    {
        var model = MockUpstreamApp.UniqueModel("oai");
        var text = new StringBuilder();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;

        await foreach (var update in Client(model).CompleteChatStreamingAsync([new UserChatMessage("stream please [[mock output_tokens=25]]")]))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }
            usage = update.Usage ?? usage;
            finish = update.FinishReason ?? finish;
        }

        finish.ShouldBe(ChatFinishReason.Stop);
        usage.ShouldNotBeNull();
        usage.OutputTokenCount.ShouldBe(25);
        MockUpstreamApp.Tokenizer.CountTokens(text.ToString()).ShouldBe(25);
        usage.InputTokenCount.ShouldBe(3 + 4 + MockUpstreamApp.Tokenizer.CountTokens("stream please [[mock output_tokens=25]]"));
        var logged = (await app.RequestsForAsync(model)).ShouldHaveSingleItem()!;
        logged["body"]!.GetValue<string>().ShouldContain("\"include_usage\":true");
    }

    [Fact]
    public async Task ToolCallIsParsedFromAResponseAndFromAStream()
    {
        var model = MockUpstreamApp.UniqueModel("oai");
        var options = new ChatCompletionOptions { Tools = { ChatTool.CreateFunctionTool("get_weather", "Weather", WeatherSchema) } };
        var client = Client(model);

        ChatCompletion completion = await client.CompleteChatAsync([new UserChatMessage("weather? [[mock tool_call=get_weather]]")], options);
        var call = completion.ToolCalls.ShouldHaveSingleItem();

        completion.FinishReason.ShouldBe(ChatFinishReason.ToolCalls);
        call.FunctionName.ShouldBe("get_weather");
        using var arguments = JsonDocument.Parse(call.FunctionArguments);
        arguments.RootElement.GetProperty("city").GetString().ShouldNotBeNullOrWhiteSpace();
        arguments.RootElement.GetProperty("unit").GetString().ShouldBeOneOf("celsius", "fahrenheit");
        arguments.RootElement.GetProperty("days").ValueKind.ShouldBe(JsonValueKind.Number);
        completion.Usage.OutputTokenCount.ShouldBe(MockUpstreamApp.Tokenizer.CountTokens(call.FunctionArguments.ToString()));

        var streamedArguments = new StringBuilder();
        string? streamedName = null, streamedId = null;
        ChatFinishReason? finish = null;
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage("weather? [[mock tool_call=get_weather]]")], options))
        {
            foreach (var toolUpdate in update.ToolCallUpdates)
            {
                toolUpdate.Index.ShouldBe(0);
                streamedName ??= toolUpdate.FunctionName;
                streamedId ??= toolUpdate.ToolCallId;
                streamedArguments.Append(toolUpdate.FunctionArgumentsUpdate?.ToString());
            }
            finish = update.FinishReason ?? finish;
        }
        streamedName.ShouldBe("get_weather");
        streamedId.ShouldStartWith("call_");
        finish.ShouldBe(ChatFinishReason.ToolCalls);
        streamedArguments.ToString().ShouldBe(call.FunctionArguments.ToString()); // same prompt, same output
    }

    [Fact]
    public async Task RequiredToolChoiceCallsTheFirstToolWithoutADirective()
    {
        var options = new ChatCompletionOptions
        {
            Tools = { ChatTool.CreateFunctionTool("get_weather", "Weather", WeatherSchema), ChatTool.CreateFunctionTool("other", "Other") },
            ToolChoice = ChatToolChoice.CreateRequiredChoice(),
        };

        ChatCompletion completion = await Client(MockUpstreamApp.UniqueModel("oai")).CompleteChatAsync([new UserChatMessage("go")], options);

        completion.ToolCalls.ShouldHaveSingleItem().FunctionName.ShouldBe("get_weather");
    }

    [Theory]
    [InlineData("/api/v1")]
    [InlineData("/v1/projects/p1/locations/us-central1/endpoints/openapi")]
    public async Task OpenRouterAndVertexBaseUrlsAreServed(string basePath)
    {
        var model = MockUpstreamApp.UniqueModel("oai");

        ChatCompletion completion = await Client(model, basePath).CompleteChatAsync([new UserChatMessage("hi")]);

        completion.Usage.OutputTokenCount.ShouldBe(16);
        (await app.RequestsForAsync(model)).ShouldHaveSingleItem()!["path"]!.GetValue<string>().ShouldBe(basePath + "/chat/completions");
    }

    [Fact]
    public async Task InjectedRateLimitSurfacesAsClientResultException()
    {
        var error = await Should.ThrowAsync<ClientResultException>(() =>
            Client(MockUpstreamApp.UniqueModel("oai")).CompleteChatAsync([new UserChatMessage("[[mock status=429]]")]));

        error.Status.ShouldBe(429);
        error.Message.ShouldContain("injected HTTP 429");
    }

    [Fact]
    public async Task MaxOutputTokensTruncatesWithLengthFinishReason()
    {
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 5 };

        ChatCompletion completion = await Client(MockUpstreamApp.UniqueModel("oai")).CompleteChatAsync([new UserChatMessage("long answer")], options);

        completion.FinishReason.ShouldBe(ChatFinishReason.Length);
        completion.Usage.OutputTokenCount.ShouldBe(5);
        MockUpstreamApp.Tokenizer.CountTokens(completion.Content[0].Text).ShouldBe(5);
    }
}
