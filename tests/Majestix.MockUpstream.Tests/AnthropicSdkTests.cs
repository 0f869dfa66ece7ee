using System.Text;
using System.Text.Json;
using Anthropic;
using Anthropic.Core;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;

namespace Majestix.MockUpstream.Tests;

// The official Anthropic .NET SDK, with strict response validation, must parse everything the mock sends.
public class AnthropicSdkTests(MockUpstreamApp app) : IClassFixture<MockUpstreamApp>
{
    private AnthropicClient Client() => new(new ClientOptions
    {
        BaseUrl = app.BaseAddress.ToString().TrimEnd('/'),
        ApiKey = "sk-ant-test-5678",
        MaxRetries = 0,
        ResponseValidation = true,
    });

    private static MessageCreateParams Params(string model, string prompt, long maxTokens = 1024) => new()
    {
        Model = model,
        MaxTokens = maxTokens,
        Messages = [new UserMessageParam(prompt)],
    };

    private static Tool LookupTool => new()
    {
        Name = "lookup",
        InputSchema = new InputSchema
        {
            Properties = new Dictionary<string, JsonElement>
            {
                ["query"] = JsonSerializer.SerializeToElement(new { type = "string" }),
                ["limit"] = JsonSerializer.SerializeToElement(new { type = "integer" }),
            },
            Required = ["query", "limit"],
        },
    };

    [Fact]
    public async Task NonStreamingMessageParsesWithExactUsage()
    {
        var model = MockUpstreamApp.UniqueModel("ant");
        var request = Params(model, "Describe a harbor at night.") with { System = "Be brief." };

        var message = await Client().Messages.Create(request);

        message.Content.ShouldHaveSingleItem().TryPickText(out var text).ShouldBeTrue();
        message.StopReason!.Value().ShouldBe(StopReason.EndTurn);
        message.Model.Raw().ShouldBe(model);
        message.Usage.OutputTokens.ShouldBe(16);
        message.Usage.OutputTokens.ShouldBe(MockUpstreamApp.Tokenizer.CountTokens(text!.Text));
        // Request framing 3, the system prompt and the message 4 each, then the texts.
        message.Usage.InputTokens.ShouldBe(
            3 + 4 + 4 + MockUpstreamApp.Tokenizer.CountTokens("Be brief.") + MockUpstreamApp.Tokenizer.CountTokens("Describe a harbor at night."));
    }

    [Fact]
    public async Task StreamingMessageReportsExactUsageInMessageStartAndDelta()
    {
        var model = MockUpstreamApp.UniqueModel("ant");
        const string prompt = "stream it [[mock output_tokens=30]]";
        var text = new StringBuilder();
        long? inputTokens = null, outputTokens = null;
        StopReason? stop = null;
        var types = new List<string>();

        await foreach (var streamEvent in Client().Messages.CreateStreaming(Params(model, prompt)))
        {
            types.Add(streamEvent.Type.Raw());
            if (streamEvent.TryPickStart(out var start))
            {
                inputTokens = start!.Message.Usage.InputTokens;
            }
            else if (streamEvent.TryPickContentBlockDelta(out var delta) && delta!.Delta.TryPickText(out var textDelta))
            {
                text.Append(textDelta!.Text);
            }
            else if (streamEvent.TryPickDelta(out var messageDelta))
            {
                outputTokens = messageDelta!.Usage.OutputTokens;
                stop = messageDelta.Delta.StopReason!.Value();
            }
        }

        types.ShouldBe(["message_start", "content_block_start", .. Enumerable.Repeat("content_block_delta", 30), "content_block_stop", "message_delta", "message_stop"]);
        inputTokens.ShouldBe(3 + 4 + MockUpstreamApp.Tokenizer.CountTokens(prompt));
        outputTokens.ShouldBe(30);
        MockUpstreamApp.Tokenizer.CountTokens(text.ToString()).ShouldBe(30);
        stop.ShouldBe(StopReason.EndTurn);
    }

    [Fact]
    public async Task ToolUseIsParsedFromAMessageAndFromAStream()
    {
        var model = MockUpstreamApp.UniqueModel("ant");
        var request = Params(model, "find it [[mock tool_call=lookup]]") with { Tools = [LookupTool] };

        var message = await Client().Messages.Create(request);

        message.StopReason!.Value().ShouldBe(StopReason.ToolUse);
        message.Content.ShouldHaveSingleItem().TryPickToolUse(out var toolUse).ShouldBeTrue();
        toolUse!.Name.ShouldBe("lookup");
        toolUse.ID.ShouldStartWith("toolu_");
        toolUse.Input["query"].GetString().ShouldNotBeNullOrWhiteSpace();
        toolUse.Input["limit"].ValueKind.ShouldBe(JsonValueKind.Number);

        var partialJson = new StringBuilder();
        string? streamedName = null;
        long? outputTokens = null;
        await foreach (var streamEvent in Client().Messages.CreateStreaming(request))
        {
            if (streamEvent.TryPickContentBlockStart(out var blockStart) && blockStart!.ContentBlock.TryPickToolUse(out var startedTool))
            {
                streamedName = startedTool!.Name;
            }
            else if (streamEvent.TryPickContentBlockDelta(out var delta) && delta!.Delta.TryPickInputJson(out var json))
            {
                partialJson.Append(json!.PartialJson);
            }
            else if (streamEvent.TryPickDelta(out var messageDelta))
            {
                outputTokens = messageDelta!.Usage.OutputTokens;
                messageDelta.Delta.StopReason!.Value().ShouldBe(StopReason.ToolUse);
            }
        }
        streamedName.ShouldBe("lookup");
        using var streamedInput = JsonDocument.Parse(partialJson.ToString());
        streamedInput.RootElement.GetProperty("query").GetString().ShouldBe(toolUse.Input["query"].GetString());
        outputTokens.ShouldBe(MockUpstreamApp.Tokenizer.CountTokens(partialJson.ToString()));
        message.Usage.OutputTokens.ShouldBe(outputTokens!.Value);
    }

    [Fact]
    public async Task EnabledThinkingProducesSignedThinkingBlocksCountedInOutput()
    {
        var model = MockUpstreamApp.UniqueModel("ant");
        var request = Params(model, "think first", maxTokens: 2048) with { Thinking = new ThinkingConfigEnabled(budgetTokens: 1024) };

        var message = await Client().Messages.Create(request);

        message.Content.Count.ShouldBe(2);
        message.Content[0].TryPickThinking(out var thinking).ShouldBeTrue();
        message.Content[1].TryPickText(out var text).ShouldBeTrue();
        thinking!.Signature.ShouldNotBeNullOrEmpty();
        var thinkingTokens = MockUpstreamApp.Tokenizer.CountTokens(thinking.Thinking);
        thinkingTokens.ShouldBe(12);
        message.Usage.OutputTokens.ShouldBe(thinkingTokens + MockUpstreamApp.Tokenizer.CountTokens(text!.Text));

        var streamedThinking = new StringBuilder();
        var signatures = 0;
        var blockTypes = new List<string>();
        await foreach (var streamEvent in Client().Messages.CreateStreaming(request))
        {
            if (streamEvent.TryPickContentBlockStart(out var start))
            {
                blockTypes.Add(start!.ContentBlock.Type.Raw());
            }
            else if (streamEvent.TryPickContentBlockDelta(out var delta))
            {
                if (delta!.Delta.TryPickThinking(out var thinkingDelta))
                {
                    streamedThinking.Append(thinkingDelta!.Thinking);
                }
                else if (delta.Delta.TryPickSignature(out var signature))
                {
                    signature!.Signature.ShouldBe(thinking.Signature);
                    signatures++;
                }
            }
        }
        blockTypes.ShouldBe(["thinking", "text"]);
        streamedThinking.ToString().ShouldBe(thinking.Thinking);
        signatures.ShouldBe(1);
    }

    [Fact]
    public async Task InjectedOverloadSurfacesAsOverloadedException()
    {
        var error = await Should.ThrowAsync<AnthropicOverloadedException>(() =>
            Client().Messages.Create(Params(MockUpstreamApp.UniqueModel("ant"), "[[mock status=529]]")));

        ((int)error.StatusCode).ShouldBe(529);
    }

    [Fact]
    public async Task MidStreamErrorEventSurfacesAsSseException()
    {
        var events = 0;

        await Should.ThrowAsync<AnthropicSseException>(async () =>
        {
            await foreach (var _ in Client().Messages.CreateStreaming(Params(MockUpstreamApp.UniqueModel("ant"), "[[mock cut_after_tokens=3 cut_mode=error]]")))
            {
                events++;
            }
        });
        events.ShouldBe(5); // message_start, content_block_start, three text deltas
    }
}
