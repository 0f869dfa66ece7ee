using OpenAI.Chat;

namespace Majestix.InferenceApi.Inference.Providers.OpenAiCompatible;

/// <summary>Maps a <see cref="ModelRequest"/> to Chat Completions messages and options.</summary>
internal static class OpenAIChatMapper
{
    public static List<ChatMessage> ToMessages(ModelRequest request)
    {
        var messages = new List<ChatMessage>();
        if (!string.IsNullOrEmpty(request.SystemPrompt))
        {
            messages.Add(new SystemChatMessage(request.SystemPrompt));
        }
        foreach (var message in request.Messages)
        {
            if (message.Role == MessageRole.Assistant)
            {
                messages.Add(ToAssistantMessage(message));
                continue;
            }
            // Chat Completions carries tool results as separate `tool` messages, which must directly
            // follow the assistant's tool calls; any text of the same turn comes after them.
            // It has no error flag: is_error is dropped, the content itself says what went wrong.
            foreach (var result in message.Content.OfType<ToolResultBlock>())
            {
                messages.Add(new ToolChatMessage(result.ToolUseId, result.Content));
            }
            var texts = message.Content.OfType<TextBlock>().Select(text => ChatMessageContentPart.CreateTextPart(text.Text)).ToList();
            if (texts.Count > 0)
            {
                messages.Add(new UserChatMessage(texts));
            }
        }
        return messages;
    }

    public static ChatCompletionOptions ToOptions(ModelRequest request, OpenAICompatibleDialect dialect)
    {
        var options = new ChatCompletionOptions
        {
            MaxOutputTokenCount = request.MaxTokens,
            Temperature = request.Temperature is { } temperature ? (float)temperature : null,
        };
        foreach (var tool in request.Tools)
        {
            options.Tools.Add(ChatTool.CreateFunctionTool(tool.Name, tool.Description, BinaryData.FromString(tool.InputSchemaJson)));
        }
        if (request.EnableThinking)
        {
            dialect.RequestThinking?.Invoke(options);
        }
        return options;
    }

    private static AssistantChatMessage ToAssistantMessage(ModelMessage message)
    {
        var toolCalls = message.Content.OfType<ToolUseBlock>()
            .Select(call => ChatToolCall.CreateFunctionToolCall(call.Id, call.Name, BinaryData.FromString(call.InputJson)))
            .ToList();
        var text = string.Concat(message.Content.OfType<TextBlock>().Select(block => block.Text));
        if (toolCalls.Count == 0)
        {
            return new AssistantChatMessage(text);
        }
        var assistant = new AssistantChatMessage(toolCalls);
        if (text.Length > 0)
        {
            assistant.Content.Add(ChatMessageContentPart.CreateTextPart(text));
        }
        return assistant;
    }
}
