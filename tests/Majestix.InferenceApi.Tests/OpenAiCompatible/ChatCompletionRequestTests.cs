using System.Text.Json;
using Majestix.InferenceApi.Inference.Catalog;
using Majestix.InferenceApi.Inference.OpenAiCompatible;
using Majestix.InferenceApi.Inference.Providers;

namespace Majestix.InferenceApi.Tests.OpenAiCompatible;

/// <summary>How an OpenAI Chat Completions body becomes the gateway's <see cref="ModelRequest"/>.</summary>
public sealed class ChatCompletionRequestTests
{
    private static ChatCompletionRequest Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        var (request, error) = ChatCompletionRequest.Parse(document.RootElement);
        error.ShouldBeNull();
        return request!;
    }

    private static void ShouldBeText(ModelMessage message, MessageRole role, string text)
    {
        message.Role.ShouldBe(role);
        message.Content.ShouldBe([new TextBlock(text)]);
    }

    [Fact]
    public void ToolConversationMapsToBlocksAndSystemMessagesToTheSystemPrompt()
    {
        var request = Parse("""
            {
              "model": "gpt-5-mini",
              "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "developer", "content": [{"type": "text", "text": "Use tools."}]},
                {"role": "user", "content": [{"type": "text", "text": "Weather in "}, {"type": "text", "text": "Oslo and Bergen?"}]},
                {"role": "assistant", "content": null, "tool_calls": [
                  {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}},
                  {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Bergen\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "call_1", "content": "4 C"},
                {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "7 C"}]},
                {"role": "assistant", "content": "Oslo 4 C, Bergen 7 C."},
                {"role": "user", "content": "Thanks"}
              ],
              "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}},
                        {"type": "function", "function": {"name": "now"}}],
              "tool_choice": "required",
              "temperature": 0.2,
              "max_tokens": 50,
              "max_completion_tokens": 100,
              "stream": true,
              "stream_options": {"include_usage": true}
            }
            """);

        request.Model.ShouldBe("gpt-5-mini");
        request.System.ShouldBe("Be brief.\n\nUse tools.");
        request.Stream.ShouldBeTrue();
        request.IncludeUsage.ShouldBeTrue();
        request.Temperature.ShouldBe(0.2);
        request.MaxTokens.ShouldBe(100);
        request.Messages.Count.ShouldBe(5);
        ShouldBeText(request.Messages[0], MessageRole.User, "Weather in Oslo and Bergen?");
        request.Messages[1].Role.ShouldBe(MessageRole.Assistant);
        request.Messages[1].Content.ShouldBe([new ToolUseBlock("call_1", "get_weather", """{"city":"Oslo"}"""), new ToolUseBlock("call_2", "get_weather", """{"city":"Bergen"}""")]);
        // Parallel results travel together in one user turn.
        request.Messages[2].Role.ShouldBe(MessageRole.User);
        request.Messages[2].Content.ShouldBe([new ToolResultBlock("call_1", "4 C"), new ToolResultBlock("call_2", "7 C")]);
        ShouldBeText(request.Messages[3], MessageRole.Assistant, "Oslo 4 C, Bergen 7 C.");
        ShouldBeText(request.Messages[4], MessageRole.User, "Thanks");
        request.Tools.Count.ShouldBe(2);
        request.Tools[0].Name.ShouldBe("get_weather");
        request.Tools[0].Description.ShouldBe("Weather");
        JsonDocument.Parse(request.Tools[0].InputSchemaJson).RootElement.GetProperty("properties").GetProperty("city").GetProperty("type").GetString().ShouldBe("string");
        request.Tools[1].InputSchemaJson.ShouldBe("""{"type":"object","properties":{}}""");
    }

    [Fact]
    public void DefaultsAreNonStreamingAndTheModelRequestIsClampedToTheModel()
    {
        var request = Parse("""{"model": "claude-haiku", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1000000}""");

        request.Stream.ShouldBeFalse();
        request.IncludeUsage.ShouldBeFalse();
        request.Temperature.ShouldBeNull();
        var model = new ModelEntry("claude-haiku", "Claude Haiku", ModelProvider.Anthropic, "claude-haiku-upstream", "chat", 200_000, 8192,
            true, true, 1m, 5m, ModelTier.Fast, [], true);
        var modelRequest = request.ToModelRequest(model);
        modelRequest.Model.ShouldBe("claude-haiku-upstream");
        modelRequest.MaxTokens.ShouldBe(8192);
        modelRequest.EnableThinking.ShouldBeFalse();
        Parse("""{"model": "m", "messages": [{"role": "user", "content": "hi"}]}""").ToModelRequest(model).MaxTokens.ShouldBe(4096);
    }

    [Theory]
    [InlineData("""{"messages": [{"role": "user", "content": "x"}]}""", "model")]
    [InlineData("""{"model": "m", "messages": []}""", "messages")]
    [InlineData("""{"model": "m", "messages": [{"role": "system", "content": "x"}]}""", "messages")]
    [InlineData("""{"model": "m", "messages": [{"role": "robot", "content": "x"}]}""", "messages[0].role")]
    [InlineData("""{"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}""", "messages[0].content")]
    [InlineData("""{"model": "m", "messages": [{"role": "tool", "content": "x"}]}""", "messages[0].tool_call_id")]
    [InlineData("""{"model": "m", "messages": [{"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "[1]"}}]}]}""", "messages[0].tool_calls")]
    [InlineData("""{"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "retrieval"}]}""", "tools")]
    [InlineData("""{"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": 2.5}""", "temperature")]
    [InlineData("""{"model": "m", "messages": [{"role": "user", "content": "x"}], "max_completion_tokens": 0}""", "max_completion_tokens")]
    [InlineData("""{"model": "m", "messages": [{"role": "user", "content": "x"}], "n": 2}""", "n")]
    [InlineData("""{"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}""", "stream")]
    public void InvalidBodiesNameTheOffendingParameter(string json, string param)
    {
        using var document = JsonDocument.Parse(json);

        var (request, error) = ChatCompletionRequest.Parse(document.RootElement);

        request.ShouldBeNull();
        error!.Param.ShouldBe(param);
        error.Message.ShouldNotBeNullOrEmpty();
    }
}
