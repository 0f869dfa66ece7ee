using System.Text.Json;
using Majestix.InferenceApi.Credits;
using Majestix.InferenceApi.Errors;
using Majestix.InferenceApi.Identity;
using Majestix.InferenceApi.Inference.Catalog;
using Majestix.InferenceApi.Inference.Providers;
using Majestix.InferenceApi.UsageEvents;

namespace Majestix.InferenceApi.Inference;

/// <summary>
/// <c>POST /code</c>: tool use for coding clients, which run the tools themselves. The event names and
/// fields are what the live VS Code extension parses; keep them exact.
/// </summary>
internal static class CodeApi
{
    public static RouteGroupBuilder MapCode(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/code")
            .RequireCaller(CallerRequirement.KeyOrWeb)
            .WithTags("Inference");
        group.MapPost("/", (HttpContext context, CallerContext caller, ModelCall calls) => HandleAsync(context, caller, caller.UserId!, calls))
            .WithName("Code");
        return group;
    }

    public static async Task HandleAsync(HttpContext context, CallerContext caller, string billedUserId, ModelCall calls)
    {
        JsonElement body;
        try
        {
            body = (await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted)).RootElement;
        }
        catch (JsonException)
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, "The request body is not valid JSON.");
            return;
        }
        var (request, invalid) = CodeRequest.Parse(body);
        if (request is null)
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, invalid!);
            return;
        }

        var (call, refusal) = await calls.StartAsync(caller, billedUserId, "/code", request.Stream, request.Model, request.ToModelRequest,
            requireTools: true, context.RequestAborted);
        if (call is null)
        {
            await RefuseAsync(context, caller, refusal!);
            return;
        }

        if (request.Stream)
        {
            await StreamAsync(context, call, calls);
        }
        else
        {
            await RespondAsync(context, call, calls);
        }
    }

    private static async Task StreamAsync(HttpContext context, StartedCall call, ModelCall calls)
    {
        var stream = new EventStream(context.Response);
        var aborted = context.RequestAborted;
        string? failure = null;
        var outcome = UsageOutcome.Ok;
        try
        {
            await stream.StartAsync();
            await using var events = call.Run.Events.GetAsyncEnumerator(aborted);
            await foreach (var modelEvent in stream.WithKeepAlive(events, aborted))
            {
                if (modelEvent.IsOutput)
                {
                    call.Watch.MarkFirstToken();
                }
                switch (modelEvent)
                {
                    case TextDelta text:
                        await stream.WriteAsync(w => { w.WriteString("type", "text"); w.WriteString("content", text.Text); }, aborted);
                        break;
                    case ThinkingDelta thinking:
                        await stream.WriteAsync(w => { w.WriteString("type", "thinking"); w.WriteString("content", thinking.Text); }, aborted);
                        break;
                    case ThinkingDone:
                        await stream.WriteAsync(w => w.WriteString("type", "thinking_done"), aborted);
                        break;
                    case ToolUse tool:
                        await stream.WriteAsync(w => WriteToolUse(w, tool), aborted);
                        break;
                    case StreamFailed failed:
                        failure = failed.Failure.Message;
                        outcome = UsageOutcome.ProviderFailed(failed.Failure);
                        break;
                }
            }
        }
        catch (ProviderFailureException exception)
        {
            // Every allowed model failed before any output: nothing was produced, nothing is charged.
            failure = exception.Message;
            outcome = UsageOutcome.ProviderFailed(exception);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The client left; the upstream call was cancelled with it. Charge what was produced.
            outcome = UsageOutcome.Cancelled;
        }

        var charge = await calls.SettleAsync(call, context, outcome);
        if (aborted.IsCancellationRequested)
        {
            return;
        }
        if (failure is not null)
        {
            await stream.WriteAsync(w => { w.WriteString("type", "error"); w.WriteString("detail", failure); w.WriteString("message", failure); }, CancellationToken.None);
            return;
        }
        await stream.WriteAsync(w => WriteDone(w, call, charge), CancellationToken.None);
    }

    private static async Task RespondAsync(HttpContext context, StartedCall call, ModelCall calls)
    {
        ModelResponse response;
        try
        {
            response = await call.Run.CollectAsync(context.RequestAborted);
        }
        catch (ProviderFailureException exception)
        {
            await calls.SettleAsync(call, context, UsageOutcome.ProviderFailed(exception));
            await ErrorAsync(context, exception.ClientStatusCode, exception.Message);
            return;
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            await calls.SettleAsync(call, context, UsageOutcome.Cancelled);
            return;
        }
        var charge = await calls.SettleAsync(call, context, response.Failure is { } failed ? UsageOutcome.ProviderFailed(failed) : UsageOutcome.Ok);
        if (response.Failure is not null)
        {
            // Output had started when the provider failed: answer what arrived, flagged, and bill only that.
            context.Response.StatusCode = StatusCodes.Status502BadGateway;
        }

        context.Response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(context.Response.Body);
        writer.WriteStartObject();
        writer.WriteStartArray("content");
        if (response.Thinking.Length > 0)
        {
            writer.WriteStartObject();
            writer.WriteString("type", "thinking");
            writer.WriteString("thinking", response.Thinking);
            writer.WriteEndObject();
        }
        if (response.Text.Length > 0)
        {
            writer.WriteStartObject();
            writer.WriteString("type", "text");
            writer.WriteString("text", response.Text);
            writer.WriteEndObject();
        }
        foreach (var tool in response.ToolUses)
        {
            writer.WriteStartObject();
            WriteToolUse(writer, tool);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteString("stop_reason", response.Failure is not null ? "error" : StopReason(response.FinishReason));
        if (response.Failure is not null)
        {
            writer.WriteString("detail", response.Failure.Message);
        }
        WriteDone(writer, call, charge, includeType: false);
        writer.WriteEndObject();
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

    private static void WriteDone(Utf8JsonWriter writer, StartedCall call, CallCharge charge, bool includeType = true)
    {
        if (includeType)
        {
            writer.WriteString("type", "done");
        }
        writer.WriteString("model", charge.Model.Key);
        writer.WriteString("model_display_name", charge.Model.DisplayName);
        writer.WriteBoolean("routed", call.Routed);
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

    private static Task RefuseAsync(HttpContext context, CallerContext caller, CallRefusal refusal) =>
        refusal.QuotaRefusal is { } quota
            ? CreditsApi.QuotaExceeded(quota, caller.Plan).ExecuteAsync(context)
            : ErrorAsync(context, refusal.StatusCode, refusal.Detail);

    private static Task ErrorAsync(HttpContext context, int status, string detail)
    {
        context.Response.StatusCode = status;
        return ErrorHandling.WriteDetail(context, detail);
    }
}
