using System.Text.Json;
using Majestix.InferenceApi.Inference.Catalog;
using Majestix.InferenceApi.Inference.Providers;

namespace Majestix.InferenceApi.Inference;

/// <summary>A validated <c>POST /code</c> body (the contract the live client sends).</summary>
internal sealed record CodeRequest(
    string? Model,
    string? System,
    IReadOnlyList<ModelMessage> Messages,
    IReadOnlyList<ToolDefinition> Tools,
    double Temperature,
    int? MaxTokens,
    bool EnableThinking,
    bool Stream,
    string? SessionId)
{
    public const int MaxMessages = 500;
    private const int MaxTools = 128;

    /// <summary>
    /// Parses the body; a non-null error is a 400 detail naming the offending field. With
    /// <paramref name="sessionMayCarryMessages"/> (chat), <c>messages</c> may be absent or empty when a
    /// <c>session_id</c> is given, because the stored history continues the conversation.
    /// </summary>
    public static (CodeRequest? Request, string? Error) Parse(JsonElement body, bool sessionMayCarryMessages = false)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            return (null, "The request body must be a JSON object.");
        }
        var continues = sessionMayCarryMessages && String(body, "session_id") is { Length: > 0 };
        var hasMessages = body.TryGetProperty("messages", out var messagesJson) && messagesJson.ValueKind != JsonValueKind.Null;
        if (continues && (!hasMessages || messagesJson is { ValueKind: JsonValueKind.Array } && messagesJson.GetArrayLength() == 0))
        {
            hasMessages = false;
        }
        else if (!hasMessages || messagesJson.ValueKind != JsonValueKind.Array || messagesJson.GetArrayLength() == 0)
        {
            return (null, "messages is required and must be a non-empty array.");
        }
        if (hasMessages && messagesJson.GetArrayLength() > MaxMessages)
        {
            return (null, $"messages may hold at most {MaxMessages} entries.");
        }

        var messages = new List<ModelMessage>();
        var index = 0;
        foreach (var message in hasMessages ? messagesJson.EnumerateArray().ToList() : [])
        {
            var content = message.ValueKind == JsonValueKind.Object && message.TryGetProperty("content", out var found) ? found : (JsonElement?)null;
            var (parsed, error) = ParseMessage(String(message, "role"), content, index++);
            if (error is not null)
            {
                return (null, error);
            }
            messages.Add(parsed!);
        }

        var tools = new List<ToolDefinition>();
        if (body.TryGetProperty("tools", out var toolsJson) && toolsJson.ValueKind != JsonValueKind.Null)
        {
            if (toolsJson.ValueKind != JsonValueKind.Array || toolsJson.GetArrayLength() > MaxTools)
            {
                return (null, $"tools must be an array of at most {MaxTools} tools.");
            }
            foreach (var tool in toolsJson.EnumerateArray())
            {
                if (String(tool, "name") is not { Length: > 0 } name || !tool.TryGetProperty("input_schema", out var schema) || schema.ValueKind != JsonValueKind.Object)
                {
                    return (null, "Each tool needs a name and an input_schema object.");
                }
                tools.Add(new ToolDefinition(name, String(tool, "description"), schema.GetRawText()));
            }
        }

        var temperature = 0.7;
        if (body.TryGetProperty("temperature", out var temperatureJson) && temperatureJson.ValueKind != JsonValueKind.Null)
        {
            if (temperatureJson.ValueKind != JsonValueKind.Number || !temperatureJson.TryGetDouble(out temperature) || temperature is < 0 or > 2)
            {
                return (null, "temperature must be a number from 0.0 to 2.0.");
            }
        }
        int? maxTokens = null;
        if (body.TryGetProperty("max_tokens", out var maxTokensJson) && maxTokensJson.ValueKind != JsonValueKind.Null)
        {
            if (maxTokensJson.ValueKind != JsonValueKind.Number || !maxTokensJson.TryGetInt32(out var value) || value < 1)
            {
                return (null, "max_tokens must be a positive integer.");
            }
            maxTokens = value;
        }

        if (!TryBool(body, "enable_thinking", false, out var thinking) || !TryBool(body, "stream", true, out var stream))
        {
            return (null, "enable_thinking and stream must be booleans.");
        }
        if (!TryOptionalString(body, "model", out var model) || !TryOptionalString(body, "system", out var system) || !TryOptionalString(body, "session_id", out var sessionId))
        {
            return (null, "model, system and session_id must be strings.");
        }
        return (new CodeRequest(string.IsNullOrWhiteSpace(model) ? null : model, system, messages, tools, temperature, maxTokens, thinking, stream, sessionId), null);
    }

    /// <summary>The provider request for <paramref name="model"/>; max_tokens defaults to 4096 and is clamped to the model's maximum.</summary>
    public ModelRequest ToModelRequest(ModelEntry model) => new()
    {
        Model = model.UpstreamModel,
        SystemPrompt = System,
        Messages = Messages,
        Tools = Tools,
        Temperature = Temperature,
        MaxTokens = ModelRequest.OutputBudget(MaxTokens, model),
        EnableThinking = EnableThinking && model.SupportsThinking,
    };

    /// <summary>A stored session turn (role and raw content) as a model message; null when it no longer parses.</summary>
    public static ModelMessage? ParseStored(string role, JsonElement content) => ParseMessage(role, content, 0).Message;

    private static (ModelMessage? Message, string? Error) ParseMessage(string? roleName, JsonElement? contentJson, int index)
    {
        var role = roleName switch
        {
            "user" => MessageRole.User,
            "assistant" => MessageRole.Assistant,
            _ => (MessageRole?)null,
        };
        if (role is null)
        {
            return (null, $"messages[{index}].role must be 'user' or 'assistant'.");
        }
        if (contentJson is not { } content)
        {
            return (null, $"messages[{index}].content is required.");
        }
        if (content.ValueKind == JsonValueKind.String)
        {
            return (new ModelMessage(role.Value, [new TextBlock(content.GetString()!)]), null);
        }
        if (content.ValueKind != JsonValueKind.Array)
        {
            return (null, $"messages[{index}].content must be a string or an array of blocks.");
        }

        var blocks = new List<ContentBlock>();
        foreach (var block in content.EnumerateArray())
        {
            ContentBlock? parsed = String(block, "type") switch
            {
                "text" when String(block, "text") is { } text => new TextBlock(text),
                "tool_use" when String(block, "id") is { Length: > 0 } id && String(block, "name") is { Length: > 0 } name
                    && block.TryGetProperty("input", out var input) && input.ValueKind == JsonValueKind.Object
                    => new ToolUseBlock(id, name, input.GetRawText()),
                "tool_result" when String(block, "tool_use_id") is { Length: > 0 } toolUseId && ToolResultText(block) is { } text
                    => new ToolResultBlock(toolUseId, text, block.TryGetProperty("is_error", out var isError) && isError.ValueKind == JsonValueKind.True),
                _ => null,
            };
            if (parsed is null)
            {
                return (null, $"messages[{index}].content has a malformed block (text needs text; tool_use needs id, name and an input object; tool_result needs tool_use_id and content).");
            }
            blocks.Add(parsed);
        }
        return blocks.Count == 0 ? (null, $"messages[{index}].content must not be empty.") : (new ModelMessage(role.Value, blocks), null);
    }

    // tool_result content is a string or a list of text blocks (the Anthropic shape clients reuse).
    private static string? ToolResultText(JsonElement block)
    {
        if (!block.TryGetProperty("content", out var content))
        {
            return null;
        }
        return content.ValueKind switch
        {
            JsonValueKind.String => content.GetString(),
            JsonValueKind.Array => string.Concat(content.EnumerateArray().Select(part => String(part, "text") ?? "")),
            _ => null,
        };
    }

    private static string? String(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static bool TryOptionalString(JsonElement body, string name, out string? value)
    {
        value = null;
        if (!body.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return true;
        }
        value = element.ValueKind == JsonValueKind.String ? element.GetString() : null;
        return element.ValueKind == JsonValueKind.String;
    }

    private static bool TryBool(JsonElement body, string name, bool fallback, out bool value)
    {
        value = fallback;
        if (!body.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return true;
        }
        value = element.ValueKind == JsonValueKind.True;
        return element.ValueKind is JsonValueKind.True or JsonValueKind.False;
    }
}
