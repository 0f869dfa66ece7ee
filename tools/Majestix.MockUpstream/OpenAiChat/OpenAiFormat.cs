using System.Text.Json;
using Majestix.MockUpstream.Generation;
using Majestix.MockUpstream.Serving;

namespace Majestix.MockUpstream.OpenAiChat;

// OpenAI Chat Completions (also what OpenRouter and Vertex AI's OpenAI-compatible endpoint speak).
internal sealed class OpenAiFormat : WireFormat
{
    public static readonly OpenAiFormat Instance = new();

    public override string Provider => "openai";

    public override string IdPrefix => "chatcmpl-mock";

    public override string ToolIdPrefix => "call_mock";

    public override string RequestIdHeader => "x-request-id";

    public override ChatRequest Parse(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidRequestException("request body must be a JSON object");
        }
        var model = OptionalString(root, "model") ?? throw new InvalidRequestException("you must provide a model parameter");
        if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidRequestException("'messages' is a required property");
        }

        var request = new ChatRequest
        {
            Model = model,
            Stream = OptionalBool(root, "stream"),
            MaxTokens = OptionalInt(root, "max_completion_tokens") ?? OptionalInt(root, "max_tokens"),
            MessageCount = messages.GetArrayLength(),
        };
        request.IncludeUsage = request.Stream && root.TryGetProperty("stream_options", out var streamOptions)
            && streamOptions.ValueKind == JsonValueKind.Object && OptionalBool(streamOptions, "include_usage");
        request.SeedModel();
        request.AddBilledOnly(ChatRequest.RequestFramingTokens);

        foreach (var message in messages.EnumerateArray())
        {
            if (message.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidRequestException("each message must be an object");
            }
            request.AddBilledOnly(ChatRequest.MessageFramingTokens);
            if (message.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
            {
                foreach (var call in calls.EnumerateArray())
                {
                    if (call.ValueKind == JsonValueKind.Object && call.TryGetProperty("function", out var called) && called.ValueKind == JsonValueKind.Object)
                    {
                        request.AddBilledOnly(ChatRequest.ToolFramingTokens, OptionalString(called, "name"), OptionalString(called, "arguments"));
                    }
                }
            }
            var isUser = OptionalString(message, "role") == "user";
            string? userText = null;
            if (message.TryGetProperty("content", out var content))
            {
                if (content.ValueKind == JsonValueKind.String)
                {
                    userText = content.GetString()!;
                    request.AddInputText(userText);
                }
                else if (content.ValueKind == JsonValueKind.Array)
                {
                    foreach (var part in content.EnumerateArray())
                    {
                        if (part.ValueKind == JsonValueKind.Object && OptionalString(part, "type") is "text" or "input_text"
                            && OptionalString(part, "text") is { } text)
                        {
                            request.AddInputText(text);
                            userText = userText is null ? text : userText + "\n" + text;
                        }
                    }
                }
            }
            if (isUser)
            {
                request.LastUserText = userText;
            }
        }

        if (root.TryGetProperty("tools", out var tools) && tools.ValueKind == JsonValueKind.Array)
        {
            foreach (var tool in tools.EnumerateArray())
            {
                if (tool.ValueKind == JsonValueKind.Object && tool.TryGetProperty("function", out var function)
                    && function.ValueKind == JsonValueKind.Object && OptionalString(function, "name") is { } name)
                {
                    var parameters = function.TryGetProperty("parameters", out var p) ? p : (JsonElement?)null;
                    request.Tools.Add(new ToolDefinition(name, parameters));
                    request.AddBilledOnly(ChatRequest.ToolFramingTokens, name, OptionalString(function, "description"), parameters?.GetRawText());
                }
            }
        }
        if (root.TryGetProperty("tool_choice", out var choice))
        {
            request.ForcedTool = choice.ValueKind switch
            {
                JsonValueKind.String when choice.GetString() == "required" => ChatRequest.AnyTool,
                JsonValueKind.Object when choice.TryGetProperty("function", out var f) && f.ValueKind == JsonValueKind.Object => OptionalString(f, "name"),
                _ => null,
            };
        }
        return request;
    }

    public override string FinishReason(FinishKind finish) => finish switch
    {
        FinishKind.Length => "length",
        FinishKind.ToolCall => "tool_calls",
        _ => "stop",
    };

    public override void WriteResponse(Utf8JsonWriter json, ChatRequest request, CompletionPlan plan)
    {
        json.WriteStartObject();
        json.WriteString("id"u8, plan.Id);
        json.WriteString("object"u8, "chat.completion"u8);
        json.WriteNumber("created"u8, plan.Created);
        json.WriteString("model"u8, request.Model);
        json.WriteStartArray("choices"u8);
        json.WriteStartObject();
        json.WriteNumber("index"u8, 0);
        json.WriteStartObject("message"u8);
        json.WriteString("role"u8, "assistant"u8);
        if (plan.ToolCall is null)
        {
            json.WriteString("content"u8, plan.Text);
        }
        else
        {
            json.WriteNull("content"u8);
        }
        json.WriteNull("refusal"u8);
        if (plan.ThinkingWords.Length > 0)
        {
            json.WriteString("reasoning_content"u8, plan.Thinking);
        }
        if (plan.ToolCall is { } tool)
        {
            json.WriteStartArray("tool_calls"u8);
            json.WriteStartObject();
            json.WriteString("id"u8, tool.Id);
            json.WriteString("type"u8, "function"u8);
            json.WriteStartObject("function"u8);
            json.WriteString("name"u8, tool.Name);
            json.WriteString("arguments"u8, tool.Arguments);
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteEndArray();
        }
        json.WriteStartArray("annotations"u8);
        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteNull("logprobs"u8);
        json.WriteString("finish_reason"u8, FinishReason(plan.Finish));
        json.WriteEndObject();
        json.WriteEndArray();
        WriteUsage(json, plan);
        json.WriteString("service_tier"u8, "default"u8);
        json.WriteString("system_fingerprint"u8, "fp_mock"u8);
        json.WriteEndObject();
    }

    public override async Task<StreamEnd> WriteStreamAsync(SseWriter sse, StreamPacer pacer, ChatRequest request, CompletionPlan plan)
    {
        var json = BeginChunk(sse, request, plan);
        json.WriteStartObject("delta"u8);
        json.WriteString("role"u8, "assistant"u8);
        if (plan.ToolCall is null)
        {
            json.WriteString("content"u8, ""u8);
        }
        else
        {
            json.WriteNull("content"u8);
        }
        json.WriteNull("refusal"u8);
        json.WriteEndObject();
        EndChunk(sse, request, null);
        pacer.Start();

        foreach (var word in plan.ThinkingWords)
        {
            if (!await pacer.NextAsync(1))
            {
                return StreamEnd.Cut;
            }
            json = BeginChunk(sse, request, plan);
            json.WriteStartObject("delta"u8);
            json.WriteString("reasoning_content"u8, Vocabulary.Encoded[word]);
            json.WriteEndObject();
            EndChunk(sse, request, null);
        }
        foreach (var word in plan.TextWords)
        {
            if (!await pacer.NextAsync(1))
            {
                return StreamEnd.Cut;
            }
            json = BeginChunk(sse, request, plan);
            json.WriteStartObject("delta"u8);
            json.WriteString("content"u8, Vocabulary.Encoded[word]);
            json.WriteEndObject();
            EndChunk(sse, request, null);
        }
        if (plan.ToolCall is { } tool)
        {
            json = BeginChunk(sse, request, plan);
            WriteToolCallDelta(json, tool, null);
            EndChunk(sse, request, null);
            for (var i = 0; i < tool.Fragments.Length; i++)
            {
                if (!await pacer.NextAsync(tool.FragmentTokens(i)))
                {
                    return StreamEnd.Cut;
                }
                json = BeginChunk(sse, request, plan);
                WriteToolCallDelta(json, null, tool.Fragments[i]);
                EndChunk(sse, request, null);
            }
        }
        if (pacer.CutBeforeEnd)
        {
            return StreamEnd.Cut;
        }

        json = BeginChunk(sse, request, plan);
        json.WriteStartObject("delta"u8);
        json.WriteEndObject();
        EndChunk(sse, request, FinishReason(plan.Finish));
        if (request.IncludeUsage)
        {
            json = sse.Begin(default);
            WriteChunkHeader(json, request, plan);
            json.WriteStartArray("choices"u8);
            json.WriteEndArray();
            WriteUsage(json, plan);
            json.WriteEndObject();
            sse.End();
        }
        sse.Raw("data: [DONE]\n\n"u8);
        return StreamEnd.Completed;
    }

    public override void WriteStreamError(SseWriter sse, string message)
    {
        var json = sse.Begin(default);
        json.WriteStartObject();
        WriteErrorObject(json, 500, message);
        json.WriteEndObject();
        sse.End();
    }

    public override void WriteError(Utf8JsonWriter json, int status, string message, string requestId)
    {
        json.WriteStartObject();
        WriteErrorObject(json, status, message);
        json.WriteEndObject();
    }

    private static void WriteErrorObject(Utf8JsonWriter json, int status, string message)
    {
        var (type, code) = status switch
        {
            401 => ("invalid_request_error", "invalid_api_key"),
            403 => ("permission_error", null),
            404 => ("invalid_request_error", "model_not_found"),
            429 => ("requests", "rate_limit_exceeded"),
            503 => ("server_error", "service_unavailable"),
            >= 500 => ("server_error", null),
            _ => ("invalid_request_error", (string?)null),
        };
        json.WriteStartObject("error"u8);
        json.WriteString("message"u8, message);
        json.WriteString("type"u8, type);
        json.WriteNull("param"u8);
        if (code is null)
        {
            json.WriteNull("code"u8);
        }
        else
        {
            json.WriteString("code"u8, code);
        }
        json.WriteEndObject();
    }

    private static void WriteToolCallDelta(Utf8JsonWriter json, ToolCallPlan? start, string? arguments)
    {
        json.WriteStartObject("delta"u8);
        json.WriteStartArray("tool_calls"u8);
        json.WriteStartObject();
        json.WriteNumber("index"u8, 0);
        if (start is not null)
        {
            json.WriteString("id"u8, start.Id);
            json.WriteString("type"u8, "function"u8);
        }
        json.WriteStartObject("function"u8);
        if (start is not null)
        {
            json.WriteString("name"u8, start.Name);
        }
        json.WriteString("arguments"u8, arguments ?? "");
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static Utf8JsonWriter BeginChunk(SseWriter sse, ChatRequest request, CompletionPlan plan)
    {
        var json = sse.Begin(default);
        WriteChunkHeader(json, request, plan);
        json.WriteStartArray("choices"u8);
        json.WriteStartObject();
        json.WriteNumber("index"u8, 0);
        return json;
    }

    private static void EndChunk(SseWriter sse, ChatRequest request, string? finishReason)
    {
        // The caller's Utf8JsonWriter is the SseWriter's one; finish the choice and the chunk.
        var json = sse.Current;
        json.WriteNull("logprobs"u8);
        if (finishReason is null)
        {
            json.WriteNull("finish_reason"u8);
        }
        else
        {
            json.WriteString("finish_reason"u8, finishReason);
        }
        json.WriteEndObject();
        json.WriteEndArray();
        if (request.IncludeUsage)
        {
            json.WriteNull("usage"u8);
        }
        json.WriteEndObject();
        sse.End();
    }

    private static void WriteChunkHeader(Utf8JsonWriter json, ChatRequest request, CompletionPlan plan)
    {
        json.WriteStartObject();
        json.WriteString("id"u8, plan.Id);
        json.WriteString("object"u8, "chat.completion.chunk"u8);
        json.WriteNumber("created"u8, plan.Created);
        json.WriteString("model"u8, request.Model);
        json.WriteString("service_tier"u8, "default"u8);
        json.WriteString("system_fingerprint"u8, "fp_mock"u8);
    }

    private static void WriteUsage(Utf8JsonWriter json, CompletionPlan plan)
    {
        json.WriteStartObject("usage"u8);
        json.WriteNumber("prompt_tokens"u8, plan.InputTokens);
        json.WriteNumber("completion_tokens"u8, plan.OutputTokens);
        json.WriteNumber("total_tokens"u8, plan.InputTokens + plan.OutputTokens);
        json.WriteStartObject("prompt_tokens_details"u8);
        json.WriteNumber("cached_tokens"u8, 0);
        json.WriteNumber("audio_tokens"u8, 0);
        json.WriteEndObject();
        json.WriteStartObject("completion_tokens_details"u8);
        json.WriteNumber("reasoning_tokens"u8, plan.ThinkingWords.Length);
        json.WriteNumber("audio_tokens"u8, 0);
        json.WriteNumber("accepted_prediction_tokens"u8, 0);
        json.WriteNumber("rejected_prediction_tokens"u8, 0);
        json.WriteEndObject();
        json.WriteEndObject();
    }
}
