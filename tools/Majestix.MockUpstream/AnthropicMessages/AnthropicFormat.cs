using System.Text.Json;
using Majestix.MockUpstream.Generation;
using Majestix.MockUpstream.Serving;

namespace Majestix.MockUpstream.AnthropicMessages;

// Anthropic Messages API: message_start, content blocks (thinking, text, tool_use), message_delta, message_stop.
internal sealed class AnthropicFormat : WireFormat
{
    public static readonly AnthropicFormat Instance = new();

    public override string Provider => "anthropic";

    public override string IdPrefix => "msg_mock";

    public override string ToolIdPrefix => "toolu_mock";

    public override string RequestIdHeader => "request-id";

    public override ChatRequest Parse(JsonElement root) => Parse(root, countTokensOnly: false);

    /// <summary>count_tokens takes the same body without max_tokens.</summary>
    public ChatRequest Parse(JsonElement root, bool countTokensOnly)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidRequestException("request body must be a JSON object");
        }
        var model = OptionalString(root, "model") ?? throw new InvalidRequestException("model: Field required");
        var maxTokens = OptionalInt(root, "max_tokens");
        if (maxTokens is null && !countTokensOnly)
        {
            throw new InvalidRequestException("max_tokens: Field required");
        }
        if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidRequestException("messages: Field required");
        }

        var request = new ChatRequest
        {
            Model = model,
            Stream = OptionalBool(root, "stream"),
            MaxTokens = maxTokens,
            MessageCount = messages.GetArrayLength(),
        };
        request.SeedModel();
        request.AddBilledOnly(ChatRequest.RequestFramingTokens);

        if (root.TryGetProperty("system", out var system))
        {
            request.AddBilledOnly(ChatRequest.MessageFramingTokens);
            AddContent(request, system, null);
        }
        foreach (var message in messages.EnumerateArray())
        {
            if (message.ValueKind != JsonValueKind.Object || !message.TryGetProperty("content", out var content))
            {
                throw new InvalidRequestException("messages: each message needs role and content");
            }
            request.AddBilledOnly(ChatRequest.MessageFramingTokens);
            var userText = new List<string>();
            AddContent(request, content, userText);
            if (OptionalString(message, "role") == "user")
            {
                request.LastUserText = string.Join('\n', userText);
            }
        }

        if (root.TryGetProperty("tools", out var tools) && tools.ValueKind == JsonValueKind.Array)
        {
            foreach (var tool in tools.EnumerateArray())
            {
                // Server tools (web_search_..., bash_...) carry a versioned type and no input_schema.
                if (tool.ValueKind == JsonValueKind.Object && OptionalString(tool, "name") is { } name
                    && OptionalString(tool, "type") is null or "custom")
                {
                    var schema = tool.TryGetProperty("input_schema", out var s) ? s : (JsonElement?)null;
                    request.Tools.Add(new ToolDefinition(name, schema));
                    request.AddBilledOnly(ChatRequest.ToolFramingTokens, name, OptionalString(tool, "description"), schema?.GetRawText());
                }
            }
        }
        if (root.TryGetProperty("tool_choice", out var choice) && choice.ValueKind == JsonValueKind.Object)
        {
            request.ForcedTool = OptionalString(choice, "type") switch
            {
                "any" => ChatRequest.AnyTool,
                "tool" => OptionalString(choice, "name"),
                _ => null,
            };
        }
        if (root.TryGetProperty("thinking", out var thinking) && thinking.ValueKind == JsonValueKind.Object)
        {
            request.ThinkingRequested = OptionalString(thinking, "type") is "enabled" or "adaptive";
            request.ThinkingBudget = OptionalInt(thinking, "budget_tokens");
        }
        return request;
    }

    public override string FinishReason(FinishKind finish) => finish switch
    {
        FinishKind.Length => "max_tokens",
        FinishKind.ToolCall => "tool_use",
        _ => "end_turn",
    };

    public override void WriteResponse(Utf8JsonWriter json, ChatRequest request, CompletionPlan plan)
    {
        json.WriteStartObject();
        json.WriteString("id"u8, plan.Id);
        json.WriteString("type"u8, "message"u8);
        json.WriteString("role"u8, "assistant"u8);
        json.WriteString("model"u8, request.Model);
        json.WriteStartArray("content"u8);
        if (plan.ThinkingWords.Length > 0)
        {
            json.WriteStartObject();
            json.WriteString("type"u8, "thinking"u8);
            json.WriteString("thinking"u8, plan.Thinking);
            json.WriteString("signature"u8, plan.Signature);
            json.WriteEndObject();
        }
        if (HasTextBlock(plan))
        {
            json.WriteStartObject();
            json.WriteString("type"u8, "text"u8);
            json.WriteString("text"u8, plan.Text);
            json.WriteEndObject();
        }
        if (plan.ToolCall is { } tool)
        {
            json.WriteStartObject();
            json.WriteString("type"u8, "tool_use"u8);
            json.WriteString("id"u8, tool.Id);
            json.WriteString("name"u8, tool.Name);
            json.WritePropertyName("input"u8);
            WriteRawJson(json, tool.Arguments);
            WriteDirectCaller(json);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteString("stop_reason"u8, FinishReason(plan.Finish));
        json.WriteNull("stop_sequence"u8);
        WriteUsage(json, plan.InputTokens, plan.OutputTokens);
        json.WriteEndObject();
    }

    public override async Task<StreamEnd> WriteStreamAsync(SseWriter sse, StreamPacer pacer, ChatRequest request, CompletionPlan plan)
    {
        var json = sse.Begin("event: message_start\n"u8);
        json.WriteStartObject();
        json.WriteString("type"u8, "message_start"u8);
        json.WriteStartObject("message"u8);
        json.WriteString("id"u8, plan.Id);
        json.WriteString("type"u8, "message"u8);
        json.WriteString("role"u8, "assistant"u8);
        json.WriteString("model"u8, request.Model);
        json.WriteStartArray("content"u8);
        json.WriteEndArray();
        json.WriteNull("stop_reason"u8);
        json.WriteNull("stop_sequence"u8);
        // Like the real API: a placeholder output count here, the exact total only in message_delta.
        WriteUsage(json, plan.InputTokens, 1);
        json.WriteEndObject();
        json.WriteEndObject();
        sse.End();
        pacer.Start();

        var index = 0;
        if (plan.ThinkingWords.Length > 0)
        {
            BlockStart(sse, index, "thinking");
            foreach (var word in plan.ThinkingWords)
            {
                if (!await pacer.NextAsync(1))
                {
                    return StreamEnd.Cut;
                }
                json = BeginDelta(sse, index, "thinking_delta"u8);
                json.WriteString("thinking"u8, Vocabulary.Encoded[word]);
                EndDelta(sse);
            }
            json = BeginDelta(sse, index, "signature_delta"u8);
            json.WriteString("signature"u8, plan.Signature);
            EndDelta(sse);
            BlockStop(sse, index++);
        }
        if (HasTextBlock(plan))
        {
            BlockStart(sse, index, "text");
            foreach (var word in plan.TextWords)
            {
                if (!await pacer.NextAsync(1))
                {
                    return StreamEnd.Cut;
                }
                json = BeginDelta(sse, index, "text_delta"u8);
                json.WriteString("text"u8, Vocabulary.Encoded[word]);
                EndDelta(sse);
            }
            BlockStop(sse, index++);
        }
        if (plan.ToolCall is { } tool)
        {
            json = sse.Begin("event: content_block_start\n"u8);
            json.WriteStartObject();
            json.WriteString("type"u8, "content_block_start"u8);
            json.WriteNumber("index"u8, index);
            json.WriteStartObject("content_block"u8);
            json.WriteString("type"u8, "tool_use"u8);
            json.WriteString("id"u8, tool.Id);
            json.WriteString("name"u8, tool.Name);
            json.WriteStartObject("input"u8);
            json.WriteEndObject();
            WriteDirectCaller(json);
            json.WriteEndObject();
            json.WriteEndObject();
            sse.End();
            PingAfterFirstBlock(sse, index);
            for (var i = 0; i < tool.Fragments.Length; i++)
            {
                if (!await pacer.NextAsync(tool.FragmentTokens(i)))
                {
                    return StreamEnd.Cut;
                }
                json = BeginDelta(sse, index, "input_json_delta"u8);
                json.WriteString("partial_json"u8, tool.Fragments[i]);
                EndDelta(sse);
            }
            BlockStop(sse, index);
        }
        if (pacer.CutBeforeEnd)
        {
            return StreamEnd.Cut;
        }

        json = sse.Begin("event: message_delta\n"u8);
        json.WriteStartObject();
        json.WriteString("type"u8, "message_delta"u8);
        json.WriteStartObject("delta"u8);
        json.WriteString("stop_reason"u8, FinishReason(plan.Finish));
        json.WriteNull("stop_sequence"u8);
        json.WriteEndObject();
        json.WriteStartObject("usage"u8);
        json.WriteNumber("input_tokens"u8, plan.InputTokens);
        json.WriteNumber("cache_creation_input_tokens"u8, 0);
        json.WriteNumber("cache_read_input_tokens"u8, 0);
        json.WriteNumber("output_tokens"u8, plan.OutputTokens);
        json.WriteEndObject();
        json.WriteEndObject();
        sse.End();
        sse.Raw("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"u8);
        return StreamEnd.Completed;
    }

    public override void WriteStreamError(SseWriter sse, string message)
    {
        var json = sse.Begin("event: error\n"u8);
        json.WriteStartObject();
        json.WriteString("type"u8, "error"u8);
        WriteErrorObject(json, 529, message);
        json.WriteEndObject();
        sse.End();
    }

    public override void WriteError(Utf8JsonWriter json, int status, string message, string requestId)
    {
        json.WriteStartObject();
        json.WriteString("type"u8, "error"u8);
        WriteErrorObject(json, status, message);
        json.WriteString("request_id"u8, requestId);
        json.WriteEndObject();
    }

    public static string ErrorType(int status) => status switch
    {
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        504 => "timeout_error",
        529 => "overloaded_error",
        >= 500 => "api_error",
        _ => "invalid_request_error",
    };

    // Without thinking or a tool call there is always a text block, even an empty one.
    private static bool HasTextBlock(CompletionPlan plan) =>
        plan.ToolCall is null && (plan.TextWords.Length > 0 || plan.ThinkingWords.Length == 0);

    // Current API versions say who invoked a tool; the SDK's strict validation requires it.
    private static void WriteDirectCaller(Utf8JsonWriter json)
    {
        json.WriteStartObject("caller"u8);
        json.WriteString("type"u8, "direct"u8);
        json.WriteEndObject();
    }

    private static void WriteErrorObject(Utf8JsonWriter json, int status, string message)
    {
        json.WriteStartObject("error"u8);
        json.WriteString("type"u8, ErrorType(status));
        json.WriteString("message"u8, message);
        json.WriteEndObject();
    }

    private static void BlockStart(SseWriter sse, int index, string type)
    {
        var json = sse.Begin("event: content_block_start\n"u8);
        json.WriteStartObject();
        json.WriteString("type"u8, "content_block_start"u8);
        json.WriteNumber("index"u8, index);
        json.WriteStartObject("content_block"u8);
        json.WriteString("type"u8, type);
        if (type == "thinking")
        {
            json.WriteString("thinking"u8, ""u8);
            json.WriteString("signature"u8, ""u8);
        }
        else
        {
            json.WriteString("text"u8, ""u8);
        }
        json.WriteEndObject();
        json.WriteEndObject();
        sse.End();
        PingAfterFirstBlock(sse, index);
    }

    private static void PingAfterFirstBlock(SseWriter sse, int index)
    {
        if (index == 0)
        {
            sse.Raw("event: ping\ndata: {\"type\": \"ping\"}\n\n"u8);
        }
    }

    private static void BlockStop(SseWriter sse, int index)
    {
        var json = sse.Begin("event: content_block_stop\n"u8);
        json.WriteStartObject();
        json.WriteString("type"u8, "content_block_stop"u8);
        json.WriteNumber("index"u8, index);
        json.WriteEndObject();
        sse.End();
    }

    private static Utf8JsonWriter BeginDelta(SseWriter sse, int index, ReadOnlySpan<byte> deltaType)
    {
        var json = sse.Begin("event: content_block_delta\n"u8);
        json.WriteStartObject();
        json.WriteString("type"u8, "content_block_delta"u8);
        json.WriteNumber("index"u8, index);
        json.WriteStartObject("delta"u8);
        json.WriteString("type"u8, deltaType);
        return json;
    }

    private static void EndDelta(SseWriter sse)
    {
        var json = sse.Current;
        json.WriteEndObject();
        json.WriteEndObject();
        sse.End();
    }

    private static void WriteUsage(Utf8JsonWriter json, int inputTokens, int outputTokens)
    {
        json.WriteStartObject("usage"u8);
        json.WriteNumber("input_tokens"u8, inputTokens);
        json.WriteNumber("cache_creation_input_tokens"u8, 0);
        json.WriteNumber("cache_read_input_tokens"u8, 0);
        json.WriteStartObject("cache_creation"u8);
        json.WriteNumber("ephemeral_5m_input_tokens"u8, 0);
        json.WriteNumber("ephemeral_1h_input_tokens"u8, 0);
        json.WriteEndObject();
        json.WriteNumber("output_tokens"u8, outputTokens);
        json.WriteString("service_tier"u8, "standard"u8);
        json.WriteEndObject();
    }

    private static void AddContent(ChatRequest request, JsonElement content, List<string>? userText)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            var text = content.GetString()!;
            request.AddInputText(text);
            userText?.Add(text);
            return;
        }
        if (content.ValueKind != JsonValueKind.Array)
        {
            return;
        }
        foreach (var block in content.EnumerateArray())
        {
            if (block.ValueKind != JsonValueKind.Object)
            {
                continue;
            }
            switch (OptionalString(block, "type"))
            {
                case "text" when OptionalString(block, "text") is { } text:
                    request.AddInputText(text);
                    userText?.Add(text);
                    break;
                case "tool_result" when block.TryGetProperty("content", out var result):
                    AddContent(request, result, null); // counted, but never a directive
                    break;
                case "tool_use":
                    request.AddBilledOnly(ChatRequest.ToolFramingTokens, OptionalString(block, "name"),
                        block.TryGetProperty("input", out var input) ? input.GetRawText() : null);
                    break;
            }
        }
    }
}
