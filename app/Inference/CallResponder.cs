using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Majestix.InferenceApi.Credits;
using Majestix.InferenceApi.Errors;
using Majestix.InferenceApi.Identity;
using Majestix.InferenceApi.Inference.Providers;
using Majestix.InferenceApi.UsageEvents;

namespace Majestix.InferenceApi.Inference;

/// <summary>What a completed call produced, for endpoints that keep it (chat sessions).</summary>
internal sealed record CallReply(string Text, IReadOnlyList<ToolUse> ToolUses);

/// <summary>
/// How an endpoint words its answer: the streamed text event's type, fields added to <c>done</c> (and to
/// the non-streaming object), and a hook that runs after a successful, settled call before <c>done</c> is sent.
/// </summary>
internal sealed record ResponseShape(string TextEventType, Action<Utf8JsonWriter>? WriteExtra = null, Func<CallReply, Task>? OnCompleted = null)
{
    public static readonly ResponseShape Code = new("text");
}

/// <summary>
/// The answer half of a model call shared by <c>/code</c> and <c>/chat</c>: SSE with keep-alives or one JSON
/// object, settling through <see cref="ModelCall.SettleAsync"/> on every path, and the error shapes.
/// </summary>
internal static class CallResponder
{
    /// <summary>
    /// The body as JSON. With a <paramref name="ticket"/> whose gate may still be pending, a body that is not
    /// JSON, or cannot be read, resolves the gate first, and <c>Refused</c> says it refused the caller and
    /// answered. A null body otherwise is not JSON, left for the endpoint to answer in its own shape.
    /// The caller disposes the document once it has parsed what it needs: its buffers are rented from the
    /// shared pool, and a document left to the GC takes new ones from the pool for every request.
    /// </summary>
    public static async Task<(JsonDocument? Body, bool Refused)> ReadBodyBehindGateAsync(HttpContext context, GateTicket? ticket)
    {
        try
        {
            var document = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            if (!HoldsOnlyText(document.RootElement))
            {
                document.Dispose();
                throw new JsonException("A string in the body is not valid UTF-8 or UTF-16.");
            }
            return (document, false);
        }
        catch (Exception exception) when (exception is JsonException || (exception is BadHttpRequestException && ticket is not null))
        {
            if (ticket is not null && await ticket.ResolveAsync() is null)
            {
                return (null, true);
            }
            if (exception is BadHttpRequestException)
            {
                // Too large, or cut off: the error handling answers it, once the caller is known.
                throw;
            }
            return (null, false);
        }
    }

    /// <summary>
    /// Whether every string and property name in <paramref name="element"/> can be read as text. The parser checks
    /// the structure only: bytes that are not UTF-8 inside a string (0xC3 0x28), or an escaped lone surrogate
    /// (<c>\ud800</c>), pass it and throw where the endpoint reads the string, which would answer 500.
    /// </summary>
    private static bool HoldsOnlyText(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                return IsText(JsonMarshal.GetRawUtf8Value(element), element.GetString);
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    if (!HoldsOnlyText(item))
                    {
                        return false;
                    }
                }
                return true;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (!IsText(JsonMarshal.GetRawUtf8PropertyName(property), () => property.Name) || !HoldsOnlyText(property.Value))
                    {
                        return false;
                    }
                }
                return true;
            default:
                return true;
        }
    }

    private static bool IsText(ReadOnlySpan<byte> raw, Func<string?> unescape)
    {
        if (!Utf8.IsValid(raw))
        {
            return false;
        }
        if (raw.IndexOf((byte)'\\') < 0)
        {
            return true;
        }
        try
        {
            // Only an escaped string can hide a lone surrogate; reading it is the one check there is.
            unescape();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Reads the body as JSON, for the caller to dispose; null after answering (400 when it is not JSON, or the gate's refusal).</summary>
    public static async Task<JsonDocument?> ReadBodyAsync(HttpContext context, GateTicket? ticket = null)
    {
        var (body, refused) = await ReadBodyBehindGateAsync(context, ticket);
        if (body is null && !refused)
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, "The request body is not valid JSON.");
        }
        return body;
    }

    public static Task AnswerAsync(HttpContext context, StartedCall call, ModelCall calls, bool stream, ResponseShape shape) =>
        stream ? StreamAsync(context, call, calls, shape) : RespondAsync(context, call, calls, shape);

    private static async Task StreamAsync(HttpContext context, StartedCall call, ModelCall calls, ResponseShape shape)
    {
        var stream = new EventStream(context.Response);
        var aborted = context.RequestAborted;
        var text = shape.OnCompleted is null ? null : new StringBuilder();
        var toolUses = new List<ToolUse>();
        var (charge, providerFailure, clientGone) = await StreamPump.RunAsync(context, call, calls, stream, () => Task.CompletedTask, modelEvent => modelEvent switch
        {
            TextDelta delta => WriteText(delta),
            ThinkingDelta thinking => stream.WriteAsync(w => { w.WriteString("type", "thinking"); w.WriteString("content", thinking.Text); }, aborted),
            ThinkingDone => stream.WriteAsync(w => w.WriteString("type", "thinking_done"), aborted),
            ToolUse tool => WriteTool(tool),
            _ => Task.CompletedTask,
        });
        var failure = providerFailure?.Message;

        Task WriteText(TextDelta delta)
        {
            text?.Append(delta.Text);
            return stream.WriteAsync(w => { w.WriteString("type", shape.TextEventType); w.WriteString("content", delta.Text); }, aborted);
        }

        Task WriteTool(ToolUse tool)
        {
            toolUses.Add(tool);
            return stream.WriteAsync(w => WriteToolUse(w, tool), aborted);
        }

        if (clientGone)
        {
            return;
        }
        if (providerFailure is not null && !stream.Started)
        {
            // Every model failed before anything was sent: the status the non-streaming answer has, which clients retry.
            await ErrorAsync(context, providerFailure.ClientStatusCode, providerFailure.Message);
            return;
        }
        if (failure is not null)
        {
            await stream.WriteAsync(w => { w.WriteString("type", "error"); w.WriteString("detail", failure); w.WriteString("message", failure); }, CancellationToken.None);
            return;
        }
        if (shape.OnCompleted is not null)
        {
            await shape.OnCompleted(new CallReply(text!.ToString(), toolUses));
        }
        var settled = charge ?? throw new InvalidOperationException("A call whose answer reports credits must be settled before it.");
        await stream.WriteAsync(w => WriteDone(w, call, settled, shape), CancellationToken.None);
    }

    private static async Task RespondAsync(HttpContext context, StartedCall call, ModelCall calls, ResponseShape shape)
    {
        var (response, charge, failure) = await calls.CollectAsync(call, context);
        if (failure is not null)
        {
            await ErrorAsync(context, failure.ClientStatusCode, failure.Message);
            return;
        }
        if (response is null || charge is null)
        {
            return;
        }
        var status = StatusCodes.Status200OK;
        if (response.Failure is not null)
        {
            // Output had started when the provider failed: answer what arrived, flagged, and bill only that.
            status = StatusCodes.Status502BadGateway;
        }
        else if (shape.OnCompleted is not null)
        {
            await shape.OnCompleted(new CallReply(response.Text, response.ToolUses));
        }

        await JsonResponse.WriteAsync(context, status, writer =>
        {
            writer.WriteStartArray("content");
            if (response.Thinking.Length > 0)
            {
                writer.WriteStartObject();
                writer.WriteString("type", "thinking");
                writer.WriteString("thinking", response.Thinking);
                writer.WriteEndObject();
            }
            WriteReplyBlocks(writer, new CallReply(response.Text, response.ToolUses));
            writer.WriteEndArray();
            writer.WriteString("stop_reason", response.Failure is not null ? "error" : StopReason(response.FinishReason));
            if (response.Failure is not null)
            {
                writer.WriteString("detail", response.Failure.Message);
            }
            WriteDone(writer, call, charge, shape, includeType: false);
        }, CancellationToken.None);
    }

    /// <summary>The reply's text and tool_use blocks in the <c>/code</c> block shape (no enclosing array).</summary>
    public static void WriteReplyBlocks(Utf8JsonWriter writer, CallReply reply)
    {
        if (reply.Text.Length > 0)
        {
            writer.WriteStartObject();
            writer.WriteString("type", "text");
            writer.WriteString("text", reply.Text);
            writer.WriteEndObject();
        }
        foreach (var tool in reply.ToolUses)
        {
            writer.WriteStartObject();
            WriteToolUse(writer, tool);
            writer.WriteEndObject();
        }
    }

    private static void WriteToolUse(Utf8JsonWriter writer, ToolUse tool)
    {
        writer.WriteString("type", "tool_use");
        writer.WriteString("id", tool.Id);
        writer.WriteString("name", tool.Name);
        writer.WritePropertyName("input");
        // A cut stream can leave partial arguments; the client still gets a JSON object.
        try
        {
            using var input = JsonDocument.Parse(tool.InputJson.Length == 0 ? "{}" : tool.InputJson);
            input.RootElement.WriteTo(writer);
        }
        catch (JsonException)
        {
            writer.WriteStartObject();
            writer.WriteEndObject();
        }
    }

    private static void WriteDone(Utf8JsonWriter writer, StartedCall call, CallCharge charge, ResponseShape shape, bool includeType = true)
    {
        if (includeType)
        {
            writer.WriteString("type", "done");
        }
        writer.WriteString("model", charge.Model.Key);
        writer.WriteString("model_display_name", charge.Model.DisplayName);
        writer.WriteBoolean("routed", call.Routed);
        shape.WriteExtra?.Invoke(writer);
        writer.WriteNumber("credits_used", charge.Credits);
        writer.WriteStartObject("usage");
        writer.WriteNumber("input_tokens", charge.Usage.InputTokens);
        writer.WriteNumber("output_tokens", charge.Usage.OutputTokens);
        writer.WriteEndObject();
    }

    private static string StopReason(FinishReason? reason) => reason switch
    {
        FinishReason.MaxTokens => "max_tokens",
        FinishReason.ToolUse => "tool_use",
        FinishReason.ContentFilter => "content_filter",
        _ => "end_turn",
    };

    public static Task RefuseAsync(HttpContext context, CallerContext caller, CallRefusal refusal) =>
        refusal.QuotaRefusal is { } quota
            ? CreditsApi.QuotaExceeded(quota, caller.Plan).ExecuteAsync(context)
            : ErrorAsync(context, refusal.StatusCode, refusal.Detail);

    public static Task ErrorAsync(HttpContext context, int status, string detail)
    {
        context.Response.StatusCode = status;
        return ErrorHandling.WriteDetail(context, detail);
    }
}
