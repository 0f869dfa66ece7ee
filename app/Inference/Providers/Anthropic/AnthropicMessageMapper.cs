using System.Text.Json;
using Anthropic.Models.Messages;

namespace Majestix.InferenceApi.Inference.Providers.Anthropic;

/// <summary>Maps a <see cref="ModelRequest"/> to Anthropic Messages parameters; the block shapes are already Anthropic's.</summary>
internal static class AnthropicMessageMapper
{
    // Anthropic requires budget_tokens >= 1024 and below max_tokens.
    private const int MinimumThinkingBudget = 1024;

    public static MessageCreateParams ToParams(ModelRequest request)
    {
        var thinkingBudget = Math.Min(request.MaxTokens / 2, 16_384);
        var thinking = request.EnableThinking && thinkingBudget >= MinimumThinkingBudget;
        var parameters = new MessageCreateParams
        {
            Model = request.Model,
            MaxTokens = request.MaxTokens,
            Messages = [.. request.Messages.Select(ToMessage)],
        };
        if (!string.IsNullOrEmpty(request.SystemPrompt))
        {
            parameters = new MessageCreateParams(parameters) { System = request.SystemPrompt };
        }
        if (request.Tools.Count > 0)
        {
            parameters = new MessageCreateParams(parameters) { Tools = [.. request.Tools.Select(ToTool)] };
        }
        if (thinking)
        {
            parameters = new MessageCreateParams(parameters) { Thinking = new ThinkingConfigEnabled(thinkingBudget) };
        }
        // Anthropic rejects a temperature other than 1 together with extended thinking.
        else if (request.Temperature is { } temperature)
        {
            // The SDK (13.14) no longer models `temperature`; the API still accepts it, so it goes into the raw body.
            var body = new Dictionary<string, JsonElement>(parameters.RawBodyData)
            {
                ["temperature"] = JsonSerializer.SerializeToElement(temperature, ProvidersJson.Default.Double),
            };
            parameters = MessageCreateParams.FromRawUnchecked(parameters.RawHeaderData, parameters.RawQueryData, body);
        }
        return parameters;
    }

    private static MessageParam ToMessage(ModelMessage message)
    {
        List<ContentBlockParam> blocks = [.. message.Content.Select(ToBlock)];
        return message.Role == MessageRole.Assistant
            ? new AssistantMessageParam(blocks)
            : new UserMessageParam(blocks);
    }

    private static ContentBlockParam ToBlock(ContentBlock block) => block switch
    {
        TextBlock text => new TextBlockParam(text.Text),
        ToolUseBlock call => new ToolUseBlockParam
        {
            ID = call.Id,
            Name = call.Name,
            Input = JsonSerializer.Deserialize(call.InputJson, ProvidersJson.Default.DictionaryStringJsonElement) ?? [],
        },
        ToolResultBlock result => new ToolResultBlockParam(result.ToolUseId)
        {
            Content = result.Content,
            IsError = result.IsError ? true : null,
        },
        _ => throw new ArgumentOutOfRangeException(nameof(block), block.GetType().Name, "Unknown content block."),
    };

    private static ToolUnion ToTool(ToolDefinition tool)
    {
        var schema = JsonSerializer.Deserialize(tool.InputSchemaJson, ProvidersJson.Default.DictionaryStringJsonElement) ?? [];
        return new Tool
        {
            Name = tool.Name,
            Description = tool.Description,
            InputSchema = new InputSchema(schema),
        };
    }
}
