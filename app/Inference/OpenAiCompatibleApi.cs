using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Majestix.InferenceApi.Credits;
using Majestix.InferenceApi.Identity;
using Majestix.InferenceApi.Inference.Catalog;
using Majestix.InferenceApi.Inference.OpenAiCompatible;
using Majestix.InferenceApi.Inference.Providers;
using Majestix.InferenceApi.OpenApi;
using Majestix.InferenceApi.UsageEvents;

namespace Majestix.InferenceApi.Inference;

/// <summary>
/// The OpenAI-compatible surface: <c>POST /v1/chat/completions</c> and <c>GET /v1/models</c>, in OpenAI's
/// wire format so existing SDKs work unchanged (base URL <c>…/v1</c>, the API key as the SDK's key, which
/// arrives as <c>Authorization: Bearer inf_…</c>; <see cref="CallerGate"/> treats it as <c>X-Api-Key</c>).
/// Every call goes through <see cref="ModelCall"/>: same plan gating, credit hold and settlement as <c>/code</c>.
/// Errors this endpoint produces use OpenAI's <c>{"error":{"message","type","param","code"}}</c>; the 401s and
/// 429s answered by <see cref="CallerGate"/> before the endpoint runs keep the gateway's <c>{"detail"}</c> body.
/// SDKs read those by status code (AuthenticationError, RateLimitError, with Retry-After), which is enough.
/// </summary>
internal static class OpenAiCompatibleApi
{
    private const string Endpoint = "/v1/chat/completions";

    // OpenAI reports when a model was published; ours have no such date, so one fixed instant serves them all.
    private static readonly long ModelsCreated = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds();
    private static readonly byte[] DoneFrame = "data: [DONE]\n\n"u8.ToArray();

    public static RouteGroupBuilder MapOpenAiCompatible(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1")
            .RequireCaller(CallerRequirement.KeyOrWeb)
            .AcceptsModelCallBodies()
            .WithTags("OpenAI compatible");
        group.MapPost("/chat/completions", (HttpContext context, GateTicket ticket, ModelCall calls) => HandleAsync(context, ticket, calls))
            .WithMetadata(HoldsInGate.Instance)
            .RequireCaller(CallerRequirement.ModelCall)
            .WithName("OpenAiChatCompletions")
            .DescribesChatCompletion();
        group.MapGet("/models", ListModelsAsync).WithName("OpenAiListModels").Produces<OpenAiModelListBody>();
        group.MapGet("/models/{id}", GetModelAsync).WithName("OpenAiGetModel").Produces<OpenAiModelBody>().Produces<OpenAiErrorBody>(StatusCodes.Status404NotFound);
        return group;
    }

    private static Task ListModelsAsync(HttpContext context, CallerContext caller, ModelCatalog catalog) =>
        WriteJsonAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WriteString("object", "list");
            w.WriteStartArray("data");
            // Only what the caller's plan may use, as GET /models.
            foreach (var model in catalog.AllowedFor(caller.Plan))
            {
                w.WriteStartObject();
                WriteModel(w, model);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        });

    private static Task GetModelAsync(HttpContext context, string id, CallerContext caller, ModelCatalog catalog) =>
        catalog.Find(id) is { Enabled: true } model && ModelCatalog.IsAllowed(model, caller.Plan)
            ? WriteJsonAsync(context, StatusCodes.Status200OK, w => WriteModel(w, model))
            : ErrorAsync(context, StatusCodes.Status404NotFound, $"The model '{id}' does not exist or is not available on your plan.", "invalid_request_error", "model_not_found", "model");

    private static void WriteModel(Utf8JsonWriter writer, ModelEntry model)
    {
        writer.WriteString("id", model.Key);
        writer.WriteString("object", "model");
        writer.WriteNumber("created", ModelsCreated);
        writer.WriteString("owned_by", model.ProviderName);
    }

    /// <remarks>
    /// The caller's gate may still be pending (<see cref="GateTicket"/>): the body is read and checked first
    /// so the call's credits can be held in the gate's trip, and every answer before the call waits for the gate.
    /// </remarks>
    private static async Task HandleAsync(HttpContext context, GateTicket ticket, ModelCall calls)
    {
        var (read, refused) = await CallResponder.ReadBodyBehindGateAsync(context, ticket);
        if (refused)
        {
            return;
        }
        if (read is null)
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, "The request body is not valid JSON.", "invalid_request_error", "invalid_json", null);
            return;
        }
        ChatCompletionRequest? request;
        ChatCompletionError? invalid;
        // The parsed request holds copies: the document goes back to the pool before the call, not after it.
        using (read)
        {
            (request, invalid) = ChatCompletionRequest.Parse(read.RootElement);
        }
        if (request is null)
        {
            if (await ticket.ResolveAsync() is not null)
            {
                await ErrorAsync(context, StatusCodes.Status400BadRequest, invalid!.Message, "invalid_request_error", "invalid_value", invalid.Param);
            }
            return;
        }

        var (call, refusal) = await calls.StartAsync(ticket, Endpoint, request.Stream, request.Model, request.ToModelRequest,
            requireTools: request.Tools.Count > 0, context.RequestAborted);
        if (call is null)
        {
            if (refusal is not null)
            {
                await RefuseAsync(context, ticket.Caller!, refusal);
            }
            return;
        }

        var completion = new Completion("chatcmpl-" + Guid.NewGuid().ToString("N"), DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        if (request.Stream)
        {
            await StreamAsync(context, call, calls, completion, request.IncludeUsage);
        }
        else
        {
            await RespondAsync(context, call, calls, completion);
        }
    }

    /// <summary>The id and creation time every chunk of one completion repeats.</summary>
    private sealed record Completion(string Id, long Created);

    private static async Task StreamAsync(HttpContext context, StartedCall call, ModelCall calls, Completion completion, bool includeUsage)
    {
        var stream = new EventStream(context.Response);
        var aborted = context.RequestAborted;
        FinishReason? finishReason = null;
        var toolIndex = 0;
        // Thinking is not requested (see ChatCompletionRequest.ToModelRequest); usage is read from the run at settlement.
        // The answer reports tokens, not credits: the settle need not hold it up.
        var (_, failure, clientGone) = await StreamPump.RunAsync(context, call, calls, stream,
            () => stream.WriteAsync(w => WriteChunk(w, completion, call, d => { d.WriteString("role", "assistant"); d.WriteString("content", ""); }, null), aborted),
            modelEvent =>
            {
                switch (modelEvent)
                {
                    case TextDelta text:
                        return stream.WriteAsync(w => WriteChunk(w, completion, call, d => d.WriteString("content", text.Text), null), aborted);
                    case ToolUse tool:
                        // Providers hand over a tool call whole: one delta carries its id, name and all its arguments.
                        var index = toolIndex++;
                        return stream.WriteAsync(w => WriteChunk(w, completion, call, d =>
                        {
                            d.WriteStartArray("tool_calls");
                            d.WriteStartObject();
                            d.WriteNumber("index", index);
                            WriteToolCall(d, tool);
                            d.WriteEndObject();
                            d.WriteEndArray();
                        }, null), aborted);
                    case Completed completed:
                        finishReason = completed.FinishReason;
                        return Task.CompletedTask;
                    default:
                        return Task.CompletedTask;
                }
            }, Settlement.Background);

        if (clientGone)
        {
            return;
        }
        if (failure is not null && !stream.Started)
        {
            // Every model failed before anything was sent: the same answer as without streaming.
            await ErrorAsync(context, failure.ClientStatusCode, failure.Message, "api_error", "upstream_error", null);
            return;
        }
        if (failure is not null)
        {
            // The status line is long gone; OpenAI's SDKs raise an APIError for a data frame holding "error".
            await stream.WriteAsync(w => WriteError(w, failure.Message, "api_error", "upstream_error", null), CancellationToken.None);
            return;
        }
        var reason = FinishReasonName(finishReason, toolIndex > 0);
        await stream.WriteAsync(w => WriteChunk(w, completion, call, _ => { }, reason), CancellationToken.None);
        if (includeUsage)
        {
            await stream.WriteAsync(w =>
            {
                WriteChunkHeader(w, completion, call.ServedModel.Key);
                w.WriteStartArray("choices");
                w.WriteEndArray();
                WriteUsage(w, call.UsedTokens);
            }, CancellationToken.None);
        }
        await context.Response.Body.WriteAsync(DoneFrame, CancellationToken.None);
        await context.Response.Body.FlushAsync(CancellationToken.None);
    }

    private static async Task RespondAsync(HttpContext context, StartedCall call, ModelCall calls, Completion completion)
    {
        // The answer reports tokens, not credits: it is written while the settle is on its way.
        var (response, _, failure) = await calls.CollectAsync(call, context, Settlement.Background);
        if (failure is not null)
        {
            await ErrorAsync(context, failure.ClientStatusCode, failure.Message, "api_error", "upstream_error", null);
            return;
        }
        if (response is null)
        {
            return;
        }
        if (response.Failure is not null)
        {
            // The upstream failed midway: the caller is billed for what was produced, and told so plainly.
            await ErrorAsync(context, StatusCodes.Status502BadGateway, response.Failure.Message, "api_error", "upstream_error", null);
            return;
        }

        await WriteJsonAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WriteString("id", completion.Id);
            w.WriteString("object", "chat.completion");
            w.WriteNumber("created", completion.Created);
            w.WriteString("model", call.ServedModel.Key);
            w.WriteStartArray("choices");
            w.WriteStartObject();
            w.WriteNumber("index", 0);
            w.WriteStartObject("message");
            w.WriteString("role", "assistant");
            if (response.Text.Length > 0 || response.ToolUses.Count == 0)
            {
                w.WriteString("content", response.Text);
            }
            else
            {
                w.WriteNull("content");
            }
            w.WriteNull("refusal");
            if (response.ToolUses.Count > 0)
            {
                w.WriteStartArray("tool_calls");
                foreach (var tool in response.ToolUses)
                {
                    w.WriteStartObject();
                    WriteToolCall(w, tool);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            w.WriteEndObject();
            w.WriteNull("logprobs");
            w.WriteString("finish_reason", FinishReasonName(response.FinishReason, response.ToolUses.Count > 0));
            w.WriteEndObject();
            w.WriteEndArray();
            WriteUsage(w, call.UsedTokens);
        });
    }

    private static void WriteChunk(Utf8JsonWriter writer, Completion completion, StartedCall call, Action<Utf8JsonWriter> writeDelta, string? finishReason)
    {
        // Before the first output this is the requested model; a fallback before output shows up from then on.
        WriteChunkHeader(writer, completion, call.ServedModel.Key);
        writer.WriteStartArray("choices");
        writer.WriteStartObject();
        writer.WriteNumber("index", 0);
        writer.WriteStartObject("delta");
        writeDelta(writer);
        writer.WriteEndObject();
        writer.WriteNull("logprobs");
        if (finishReason is null)
        {
            writer.WriteNull("finish_reason");
        }
        else
        {
            writer.WriteString("finish_reason", finishReason);
        }
        writer.WriteEndObject();
        writer.WriteEndArray();
    }

    private static void WriteChunkHeader(Utf8JsonWriter writer, Completion completion, string model)
    {
        writer.WriteString("id", completion.Id);
        writer.WriteString("object", "chat.completion.chunk");
        writer.WriteNumber("created", completion.Created);
        writer.WriteString("model", model);
    }

    private static void WriteToolCall(Utf8JsonWriter writer, ToolUse tool)
    {
        writer.WriteString("id", tool.Id);
        writer.WriteString("type", "function");
        writer.WriteStartObject("function");
        writer.WriteString("name", tool.Name);
        // OpenAI sends arguments as a string holding JSON; a cut stream can leave it partial, as OpenAI's can.
        writer.WriteString("arguments", tool.InputJson.Length == 0 ? "{}" : tool.InputJson);
        writer.WriteEndObject();
    }

    private static void WriteUsage(Utf8JsonWriter writer, Usage usage)
    {
        writer.WriteStartObject("usage");
        writer.WriteNumber("prompt_tokens", usage.InputTokens);
        writer.WriteNumber("completion_tokens", usage.OutputTokens);
        writer.WriteNumber("total_tokens", usage.InputTokens + usage.OutputTokens);
        writer.WriteEndObject();
    }

    private static string FinishReasonName(FinishReason? reason, bool calledTools) => reason switch
    {
        FinishReason.MaxTokens => "length",
        FinishReason.ToolUse => "tool_calls",
        FinishReason.ContentFilter => "content_filter",
        _ when calledTools => "tool_calls",
        _ => "stop",
    };

    private static Task RefuseAsync(HttpContext context, CallerContext caller, CallRefusal refusal)
    {
        if (refusal.QuotaRefusal is { } quota)
        {
            var plan = quota.Plan.Length > 0 ? quota.Plan : caller.Plan.WireName();
            var message = string.Create(CultureInfo.InvariantCulture,
                $"Insufficient credits: this request needs up to {CreditUnits.ToCredits(quota.RequiredUnits)} credits and {CreditUnits.ToCredits(quota.AvailableUnits)} remain on the {plan} plan. Top up or lower max_tokens.");
            return ErrorAsync(context, StatusCodes.Status402PaymentRequired, message, "insufficient_quota", "insufficient_quota", null);
        }
        return refusal.StatusCode switch
        {
            // ModelCall refuses an unknown model with 400; OpenAI answers 404 model_not_found, which SDKs map to NotFoundError.
            StatusCodes.Status400BadRequest => ErrorAsync(context, StatusCodes.Status404NotFound, refusal.Detail, "invalid_request_error", "model_not_found", "model"),
            StatusCodes.Status403Forbidden => ErrorAsync(context, StatusCodes.Status403Forbidden, refusal.Detail, "permission_error", "model_not_in_plan", "model"),
            _ => ErrorAsync(context, refusal.StatusCode, refusal.Detail, "invalid_request_error", null, null),
        };
    }

    private static Task ErrorAsync(HttpContext context, int status, string message, string type, string? code, string? param) =>
        WriteJsonAsync(context, status, w => WriteError(w, message, type, code, param));

    private static void WriteError(Utf8JsonWriter writer, string message, string type, string? code, string? param)
    {
        writer.WriteStartObject("error");
        writer.WriteString("message", message);
        writer.WriteString("type", type);
        if (param is null)
        {
            writer.WriteNull("param");
        }
        else
        {
            writer.WriteString("param", param);
        }
        if (code is null)
        {
            writer.WriteNull("code");
        }
        else
        {
            writer.WriteString("code", code);
        }
        writer.WriteEndObject();
    }

    private static Task WriteJsonAsync(HttpContext context, int status, Action<Utf8JsonWriter> writeObject) =>
        JsonResponse.WriteAsync(context, status, writeObject, context.RequestAborted);
}
