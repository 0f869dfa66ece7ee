using System.Text;
using System.Text.Json;
using Majestix.InferenceApi.Inference.Catalog;
using Majestix.InferenceApi.Inference.Providers;

namespace Majestix.InferenceApi.Inference.OpenAiCompatible;

/// <summary>A 400 in OpenAI's terms: the message and the offending parameter.</summary>
internal sealed record ChatCompletionError(string Message, string? Param);

/// <summary>
/// A validated <c>POST /v1/chat/completions</c> body (OpenAI's Chat Completions request), mapped to the
/// gateway's own <see cref="ModelRequest"/> terms: system and developer messages become the system prompt,
/// assistant <c>tool_calls</c> become tool-use blocks and <c>tool</c> messages tool-result blocks.
/// </summary>
internal sealed record ChatCompletionRequest(
    string Model,
    string? System,
    IReadOnlyList<ModelMessage> Messages,
    IReadOnlyList<ToolDefinition> Tools,
    double? Temperature,
    int? MaxTokens,
    bool Stream,
    bool IncludeUsage)
{
    private const int MaxTools = 128;
    private const string EmptySchema = """{"type":"object","properties":{}}""";

    public static (ChatCompletionRequest? Request, ChatCompletionError? Error) Parse(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            return Fail("The request body must be a JSON object.", null);
        }
        if (String(body, "model") is not { Length: > 0 } model)
        {
            return Fail("you must provide a model parameter", "model");
        }
        if (!body.TryGetProperty("messages", out var messagesJson) || messagesJson.ValueKind != JsonValueKind.Array || messagesJson.GetArrayLength() == 0)
        {
            return Fail("messages is required and must be a non-empty array.", "messages");
        }
        if (messagesJson.GetArrayLength() > CodeRequest.MaxMessages)
        {
            return Fail($"messages may hold at most {CodeRequest.MaxMessages} entries.", "messages");
        }

        var system = new List<string>();
        var messages = new List<ModelMessage>();
        var index = 0;
        foreach (var message in messagesJson.EnumerateArray())
        {
            if (AddMessage(message, index++, system, messages) is { } error)
            {
                return (null, error);
            }
        }
        if (messages.Count == 0)
        {
            return Fail("messages must contain at least one user message.", "messages");
        }

        var (tools, toolsError) = ParseTools(body);
        if (toolsError is not null)
        {
            return (null, toolsError);
        }

        // tool_choice (auto | none | required | {"type":"function",...}) is accepted and ignored: ModelRequest
        // carries no tool choice and the provider mappers send none, so every provider uses its default, "auto".
        // parallel_tool_calls, user, seed, stop, logprobs and the like are ignored the same way.

        double? temperature = null;
        if (body.TryGetProperty("temperature", out var temperatureJson) && temperatureJson.ValueKind != JsonValueKind.Null)
        {
            if (temperatureJson.ValueKind != JsonValueKind.Number || !temperatureJson.TryGetDouble(out var value) || value is < 0 or > 2)
            {
                return Fail("temperature must be a number from 0 to 2.", "temperature");
            }
            temperature = value;
        }

        // max_completion_tokens is the current name; max_tokens the deprecated one. The first wins when both are sent.
        int? maxTokens = null;
        foreach (var name in (string[])["max_completion_tokens", "max_tokens"])
        {
            if (maxTokens is null && body.TryGetProperty(name, out var maxJson) && maxJson.ValueKind != JsonValueKind.Null)
            {
                if (maxJson.ValueKind != JsonValueKind.Number || !maxJson.TryGetInt32(out var value) || value < 1)
                {
                    return Fail($"{name} must be a positive integer.", name);
                }
                maxTokens = value;
            }
        }

        if (body.TryGetProperty("n", out var n) && n.ValueKind != JsonValueKind.Null && (!n.TryGetInt32(out var count) || count != 1))
        {
            return Fail("Only n = 1 is supported.", "n");
        }

        var stream = false;
        if (body.TryGetProperty("stream", out var streamJson) && streamJson.ValueKind != JsonValueKind.Null)
        {
            if (streamJson.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                return Fail("stream must be a boolean.", "stream");
            }
            stream = streamJson.ValueKind == JsonValueKind.True;
        }
        var includeUsage = body.TryGetProperty("stream_options", out var options) && options.ValueKind == JsonValueKind.Object
            && options.TryGetProperty("include_usage", out var include) && include.ValueKind == JsonValueKind.True;

        return (new ChatCompletionRequest(model, system.Count == 0 ? null : string.Join("\n\n", system), messages, tools, temperature, maxTokens, stream, includeUsage), null);
    }

    /// <summary>The provider request for <paramref name="model"/>; the token limit defaults to 4096 and is clamped to the model's maximum, as for <c>/code</c>.</summary>
    public ModelRequest ToModelRequest(ModelEntry model) => new()
    {
        Model = model.UpstreamModel,
        SystemPrompt = System,
        Messages = Messages,
        Tools = Tools,
        Temperature = Temperature,
        MaxTokens = ModelRequest.OutputBudget(MaxTokens, model),
        // Chat Completions has no portable field for the model's reasoning text, so none is requested.
        EnableThinking = false,
    };

    private static ChatCompletionError? AddMessage(JsonElement message, int index, List<string> system, List<ModelMessage> messages)
    {
        var at = $"messages[{index}]";
        if (message.ValueKind != JsonValueKind.Object)
        {
            return new ChatCompletionError($"{at} must be an object.", at);
        }
        message.TryGetProperty("content", out var content);
        switch (String(message, "role"))
        {
            case "system" or "developer":
                if (Text(content) is not { } instruction)
                {
                    return new ChatCompletionError($"{at}.content must be a string or an array of text parts.", $"{at}.content");
                }
                system.Add(instruction);
                return null;

            case "user":
                if (Text(content) is not { } text)
                {
                    return new ChatCompletionError($"{at}.content must be a string or an array of text parts; only text is supported.", $"{at}.content");
                }
                messages.Add(ModelMessage.User(text));
                return null;

            case "assistant":
                return AddAssistant(message, content, at, messages);

            case "tool":
                if (String(message, "tool_call_id") is not { Length: > 0 } toolCallId)
                {
                    return new ChatCompletionError($"{at}.tool_call_id is required for tool messages.", $"{at}.tool_call_id");
                }
                if (Text(content) is not { } result)
                {
                    return new ChatCompletionError($"{at}.content must be a string or an array of text parts.", $"{at}.content");
                }
                // Results of one turn's parallel calls travel together in one user message, as the providers expect.
                var block = new ToolResultBlock(toolCallId, result);
                if (messages.Count > 0 && messages[^1] is { Role: MessageRole.User } previous && previous.Content.All(b => b is ToolResultBlock))
                {
                    messages[^1] = previous with { Content = [.. previous.Content, block] };
                }
                else
                {
                    messages.Add(new ModelMessage(MessageRole.User, [block]));
                }
                return null;

            default:
                return new ChatCompletionError($"{at}.role must be one of system, developer, user, assistant, tool.", $"{at}.role");
        }
    }

    private static ChatCompletionError? AddAssistant(JsonElement message, JsonElement content, string at, List<ModelMessage> messages)
    {
        var blocks = new List<ContentBlock>();
        if (content.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null))
        {
            if (Text(content) is not { } text)
            {
                return new ChatCompletionError($"{at}.content must be a string, null or an array of text parts.", $"{at}.content");
            }
            if (text.Length > 0)
            {
                blocks.Add(new TextBlock(text));
            }
        }
        if (message.TryGetProperty("tool_calls", out var calls) && calls.ValueKind != JsonValueKind.Null)
        {
            if (calls.ValueKind != JsonValueKind.Array)
            {
                return new ChatCompletionError($"{at}.tool_calls must be an array.", $"{at}.tool_calls");
            }
            foreach (var call in calls.EnumerateArray())
            {
                if (String(call, "id") is not { Length: > 0 } id
                    || !call.TryGetProperty("function", out var function)
                    || String(function, "name") is not { Length: > 0 } name)
                {
                    return new ChatCompletionError($"{at}.tool_calls entries need an id and a function with a name.", $"{at}.tool_calls");
                }
                // arguments is a string holding a JSON object; the providers take the object itself.
                var arguments = String(function, "arguments") is { Length: > 0 } raw ? raw : "{}";
                if (!IsJsonObject(arguments))
                {
                    return new ChatCompletionError($"{at}.tool_calls function.arguments must be a JSON object encoded as a string.", $"{at}.tool_calls");
                }
                blocks.Add(new ToolUseBlock(id, name, arguments));
            }
        }
        if (blocks.Count == 0)
        {
            return new ChatCompletionError($"{at} needs content or tool_calls.", $"{at}.content");
        }
        messages.Add(new ModelMessage(MessageRole.Assistant, blocks));
        return null;
    }

    private static (List<ToolDefinition> Tools, ChatCompletionError? Error) ParseTools(JsonElement body)
    {
        var tools = new List<ToolDefinition>();
        if (!body.TryGetProperty("tools", out var toolsJson) || toolsJson.ValueKind == JsonValueKind.Null)
        {
            return (tools, null);
        }
        if (toolsJson.ValueKind != JsonValueKind.Array || toolsJson.GetArrayLength() > MaxTools)
        {
            return (tools, new ChatCompletionError($"tools must be an array of at most {MaxTools} tools.", "tools"));
        }
        foreach (var tool in toolsJson.EnumerateArray())
        {
            if (String(tool, "type") != "function" || !tool.TryGetProperty("function", out var function) || String(function, "name") is not { Length: > 0 } name)
            {
                return (tools, new ChatCompletionError("Each tool must be {\"type\": \"function\", \"function\": {\"name\", \"description\", \"parameters\"}}.", "tools"));
            }
            var schema = EmptySchema;
            if (function.TryGetProperty("parameters", out var parameters) && parameters.ValueKind != JsonValueKind.Null)
            {
                if (parameters.ValueKind != JsonValueKind.Object)
                {
                    return (tools, new ChatCompletionError($"tools: parameters of '{name}' must be a JSON schema object.", "tools"));
                }
                schema = parameters.GetRawText();
            }
            tools.Add(new ToolDefinition(name, String(function, "description"), schema));
        }
        return (tools, null);
    }

    /// <summary>A string, or an array of <c>{"type":"text","text":...}</c> parts joined; null for anything else (images, audio).</summary>
    private static string? Text(JsonElement content)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            return content.GetString();
        }
        if (content.ValueKind != JsonValueKind.Array)
        {
            return null;
        }
        var text = new StringBuilder();
        foreach (var part in content.EnumerateArray())
        {
            if (String(part, "type") != "text" || String(part, "text") is not { } partText)
            {
                return null;
            }
            text.Append(partText);
        }
        return text.ToString();
    }

    private static bool IsJsonObject(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static (ChatCompletionRequest?, ChatCompletionError?) Fail(string message, string? param) => (null, new ChatCompletionError(message, param));

    private static string? String(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
