using System.Text.Json;
using System.Text.Json.Serialization;

namespace Majestix.InferenceApi.OpenApi;

// The wire shapes of the endpoints that read and write JSON by hand (model calls, the OpenAI surface), for
// the OpenAPI document only: nothing serializes them. Names become snake_case like every body of the API.
// A JsonElement is any JSON (a message's content is a string or an array of content blocks).

/// <summary>The body of <c>POST /code</c>.</summary>
public sealed record CodeRequestBody(
    IReadOnlyList<MessageBody> Messages,
    string? Model = null,
    string? System = null,
    IReadOnlyList<ToolBody>? Tools = null,
    double? Temperature = null,
    int? MaxTokens = null,
    bool? EnableThinking = null,
    bool? Stream = null);

/// <summary>The body of <c>POST /chat</c>: <c>/code</c>'s, and the session to continue (messages may then be empty).</summary>
public sealed record ChatRequestBody(
    IReadOnlyList<MessageBody> Messages,
    string? Model = null,
    string? System = null,
    IReadOnlyList<ToolBody>? Tools = null,
    double? Temperature = null,
    int? MaxTokens = null,
    bool? EnableThinking = null,
    bool? Stream = null,
    string? SessionId = null);

/// <summary>One message: <c>role</c> user or assistant; <c>content</c> a string or text / tool_use / tool_result / image blocks.</summary>
public sealed record MessageBody(string Role, JsonElement Content);

public sealed record ToolBody(string Name, JsonElement InputSchema, string? Description = null);

/// <summary>A content block of an answer: <c>text</c> (text), <c>thinking</c> (thinking) or <c>tool_use</c> (id, name, input).</summary>
public sealed record ContentBlock(string Type, string? Text = null, string? Thinking = null, string? Id = null, string? Name = null, JsonElement? Input = null);

public sealed record TokenUsage(int InputTokens, int OutputTokens);

/// <summary>
/// The answer of <c>/code</c> with <c>"stream": false</c>. A 502 carries the same object with
/// <c>stop_reason</c> <c>error</c> and <c>detail</c>: output had started when the provider failed, and only that was charged.
/// </summary>
public sealed record CodeResponseBody(
    IReadOnlyList<ContentBlock> Content,
    string StopReason,
    string Model,
    string ModelDisplayName,
    bool Routed,
    decimal CreditsUsed,
    TokenUsage Usage,
    string? Detail = null);

/// <summary>The answer of <c>/chat</c> with <c>"stream": false</c>: <c>/code</c>'s, with the session it continued or started.</summary>
public sealed record ChatResponseBody(
    IReadOnlyList<ContentBlock> Content,
    string StopReason,
    string Model,
    string ModelDisplayName,
    bool Routed,
    string SessionId,
    decimal CreditsUsed,
    TokenUsage Usage,
    string? Detail = null);

/// <summary>
/// One server-sent event (<c>data: {json}</c>) of a streamed <c>/code</c> or <c>/chat</c> answer, by <c>type</c>:
/// <c>text</c> (<c>/code</c>) or <c>chunk</c> (<c>/chat</c>) with content; <c>thinking</c> with content;
/// <c>thinking_done</c>; <c>tool_use</c> with id, name, input; then <c>done</c> with model, model_display_name,
/// routed, credits_used, usage (and session_id on <c>/chat</c>), or <c>error</c> with detail and message when the
/// provider failed after output had started. Comment lines (<c>: keep-alive</c>) come after 15 s without an event.
/// </summary>
public sealed record StreamEvent(
    string Type,
    string? Content = null,
    string? Id = null,
    string? Name = null,
    JsonElement? Input = null,
    string? Model = null,
    string? ModelDisplayName = null,
    bool? Routed = null,
    string? SessionId = null,
    decimal? CreditsUsed = null,
    TokenUsage? Usage = null,
    string? Detail = null,
    string? Message = null);

/// <summary>The body of <c>POST /v1/chat/completions</c> (OpenAI Chat Completions; other OpenAI fields are accepted and ignored).</summary>
public sealed record ChatCompletionRequestBody(
    string Model,
    IReadOnlyList<ChatMessageBody> Messages,
    IReadOnlyList<ChatToolBody>? Tools = null,
    double? Temperature = null,
    int? MaxCompletionTokens = null,
    int? MaxTokens = null,
    int? N = null,
    bool? Stream = null,
    StreamOptionsBody? StreamOptions = null);

/// <summary>role system, developer, user, assistant or tool; content a string or text / image_url parts.</summary>
public sealed record ChatMessageBody(string Role, JsonElement? Content, IReadOnlyList<ToolCallBody>? ToolCalls = null, string? ToolCallId = null);

public sealed record ChatToolBody(string Type, FunctionBody Function);

public sealed record FunctionBody(string Name, string? Description, JsonElement? Parameters);

public sealed record ToolCallBody(string Id, string Type, FunctionCallBody Function);

/// <summary>The call's arguments are a string holding JSON, as OpenAI sends them.</summary>
public sealed record FunctionCallBody(string Name, string Arguments);

public sealed record StreamOptionsBody(bool? IncludeUsage);

public sealed record ChatCompletionBody(string Id, [property: JsonPropertyName("object")] string ObjectType, long Created, string Model, IReadOnlyList<ChatChoiceBody> Choices, CompletionUsageBody Usage);

public sealed record ChatChoiceBody(int Index, AssistantMessageBody Message, JsonElement? Logprobs, string FinishReason);

public sealed record AssistantMessageBody(string Role, string? Content, string? Refusal, IReadOnlyList<ToolCallBody>? ToolCalls = null);

public sealed record CompletionUsageBody(int PromptTokens, int CompletionTokens, int TotalTokens);

/// <summary>One <c>data:</c> frame of a streamed completion (<c>chat.completion.chunk</c>); the stream ends with <c>data: [DONE]</c>.</summary>
public sealed record ChatCompletionChunkBody(string Id, [property: JsonPropertyName("object")] string ObjectType, long Created, string Model, IReadOnlyList<ChatChunkChoiceBody> Choices, CompletionUsageBody? Usage = null);

public sealed record ChatChunkChoiceBody(int Index, ChatDeltaBody Delta, JsonElement? Logprobs, string? FinishReason);

public sealed record ChatDeltaBody(string? Role = null, string? Content = null, IReadOnlyList<ToolCallBody>? ToolCalls = null);

public sealed record OpenAiModelBody(string Id, [property: JsonPropertyName("object")] string ObjectType, long Created, string OwnedBy);

public sealed record OpenAiModelListBody([property: JsonPropertyName("object")] string ObjectType, IReadOnlyList<OpenAiModelBody> Data);

/// <summary>OpenAI's error object, which <c>/v1</c> answers for its own errors (401 and 429 from the gate are <c>{"detail"}</c>).</summary>
public sealed record OpenAiErrorBody(OpenAiErrorDetail Error);

public sealed record OpenAiErrorDetail(string Message, string Type, string? Param, string? Code);
