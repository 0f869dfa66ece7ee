using System.Text.Json;

namespace Majestix.InferenceApi.Inference.Providers.OpenAiCompatible;

/// <summary>Writes a <see cref="ModelRequest"/> as a streaming Chat Completions request body.</summary>
internal static class OpenAIChatMapper
{
    public static void WriteRequest(Utf8JsonWriter json, ModelRequest request, OpenAICompatibleDialect dialect)
    {
        json.WriteStartObject();
        json.WriteString("model"u8, request.Model);
        json.WriteStartArray("messages"u8);
        if (!string.IsNullOrEmpty(request.SystemPrompt))
        {
            json.WriteStartObject();
            json.WriteString("role"u8, "system"u8);
            json.WriteString("content"u8, request.SystemPrompt);
            json.WriteEndObject();
        }
        foreach (var message in request.Messages)
        {
            if (message.Role == MessageRole.Assistant)
            {
                WriteAssistantMessage(json, message);
            }
            else
            {
                WriteUserMessages(json, message);
            }
        }
        json.WriteEndArray();
        json.WriteNumber("max_completion_tokens"u8, request.MaxTokens);
        if (request.Temperature is { } temperature)
        {
            json.WriteNumber("temperature"u8, temperature);
        }
        json.WriteBoolean("stream"u8, true);
        json.WriteStartObject("stream_options"u8);
        json.WriteBoolean("include_usage"u8, true);
        json.WriteEndObject();
        if (request.Tools.Count > 0)
        {
            WriteTools(json, request.Tools);
        }
        if (request.EnableThinking)
        {
            dialect.WriteThinkingRequest?.Invoke(json);
        }
        json.WriteEndObject();
    }

    private static void WriteUserMessages(Utf8JsonWriter json, ModelMessage message)
    {
        // Chat Completions carries tool results as separate `tool` messages, which must directly
        // follow the assistant's tool calls; any text of the same turn comes after them.
        // It has no error flag: is_error is dropped, the content itself says what went wrong.
        var textCount = 0;
        foreach (var block in message.Content)
        {
            if (block is ToolResultBlock result)
            {
                json.WriteStartObject();
                json.WriteString("role"u8, "tool"u8);
                json.WriteString("tool_call_id"u8, result.ToolUseId);
                json.WriteString("content"u8, result.Content);
                json.WriteEndObject();
            }
            else if (block is TextBlock)
            {
                textCount++;
            }
        }
        if (textCount == 0)
        {
            return;
        }
        json.WriteStartObject();
        json.WriteString("role"u8, "user"u8);
        if (textCount == 1)
        {
            json.WriteString("content"u8, message.Content.OfType<TextBlock>().First().Text);
        }
        else
        {
            json.WriteStartArray("content"u8);
            foreach (var text in message.Content.OfType<TextBlock>())
            {
                json.WriteStartObject();
                json.WriteString("type"u8, "text"u8);
                json.WriteString("text"u8, text.Text);
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }
        json.WriteEndObject();
    }

    private static void WriteAssistantMessage(Utf8JsonWriter json, ModelMessage message)
    {
        json.WriteStartObject();
        json.WriteString("role"u8, "assistant"u8);
        var text = string.Concat(message.Content.OfType<TextBlock>().Select(block => block.Text));
        var hasToolCalls = message.Content.Any(block => block is ToolUseBlock);
        // A tool-calling turn without text sends no content at all, as the OpenAI SDK did.
        if (text.Length > 0 || !hasToolCalls)
        {
            json.WriteString("content"u8, text);
        }
        if (hasToolCalls)
        {
            json.WriteStartArray("tool_calls"u8);
            foreach (var call in message.Content.OfType<ToolUseBlock>())
            {
                json.WriteStartObject();
                json.WriteString("id"u8, call.Id);
                json.WriteString("type"u8, "function"u8);
                json.WriteStartObject("function"u8);
                json.WriteString("name"u8, call.Name);
                json.WriteString("arguments"u8, call.InputJson);
                json.WriteEndObject();
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }
        json.WriteEndObject();
    }

    private static void WriteTools(Utf8JsonWriter json, IReadOnlyList<ToolDefinition> tools)
    {
        json.WriteStartArray("tools"u8);
        foreach (var tool in tools)
        {
            json.WriteStartObject();
            json.WriteString("type"u8, "function"u8);
            json.WriteStartObject("function"u8);
            json.WriteString("name"u8, tool.Name);
            if (tool.Description is not null)
            {
                json.WriteString("description"u8, tool.Description);
            }
            json.WritePropertyName("parameters"u8);
            json.WriteRawValue(tool.InputSchemaJson);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }
}
