using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Majestix.MockUpstream.Behaviour;
using Majestix.MockUpstream.Control;
using Majestix.MockUpstream.Generation;

namespace Majestix.MockUpstream.Serving;

// The request flow shared by both providers: parse, resolve behaviour, log, then error, cut,
// JSON or SSE. Order of delays: latency_ms before response headers, then ttft_ms and pacing.
internal sealed class CompletionEndpoint(BehaviourStore store, RequestLog log, MockUpstreamOptions options)
{
    private static readonly TimeSpan AbortGrace = TimeSpan.FromMilliseconds(50);

    public async Task HandleAsync(HttpContext context, WireFormat format)
    {
        var cancellationToken = context.RequestAborted;
        var entry = new RequestLogEntry
        {
            Seq = log.NextSeq(),
            Time = DateTimeOffset.UtcNow,
            Method = context.Request.Method,
            Path = context.Request.Path.Value ?? "",
            Provider = format.Provider,
            Headers = log.Enabled ? RequestLog.HeaderSubset(context.Request.Headers) : [],
        };
        log.Add(entry);
        var requestId = string.Create(CultureInfo.InvariantCulture, $"req_mock{entry.Seq:x8}");
        context.Response.Headers[format.RequestIdHeader] = requestId;

        ChatRequest request;
        ResolvedBehaviour behaviour;
        CompletionPlan plan;
        try
        {
            using var json = await ReadJsonAsync(context.Request.BodyReader, entry, cancellationToken);
            request = format.Parse(json.Document.RootElement);
            entry.Model = request.Model;
            entry.Stream = request.Stream;
            entry.MaxTokens = request.MaxTokens;
            entry.MessageCount = request.MessageCount;
            entry.Tools = [.. request.Tools.Select(t => t.Name)];
            entry.InputTokens = request.InputTokens;
            behaviour = ResolvedBehaviour.Resolve(context.Request.Headers, request.LastUserText, request.Model, store);
            entry.Behaviour = behaviour.Explicit;
            entry.BehaviourSources = behaviour.Sources;
            // Plan while the document (and the tool schemas in it) is alive.
            plan = CompletionPlan.Create(request, behaviour, format.IdPrefix, format.ToolIdPrefix);
        }
        catch (Exception e) when (e is JsonException or InvalidRequestException or FormatException)
        {
            entry.Outcome = "invalid";
            entry.Error = e.Message;
            await WriteErrorAsync(context, format, StatusCodes.Status400BadRequest, e.Message, requestId, null, entry);
            return;
        }

        if (behaviour.Status is { } status && ShouldFail(behaviour, request.Model))
        {
            entry.Outcome = "error";
            await Pause.ForAsync(behaviour.LatencyMs, cancellationToken);
            await WriteErrorAsync(context, format, status, $"mock upstream: injected HTTP {status}", requestId, behaviour.RetryAfter, entry);
            return;
        }

        if (behaviour.CutAfterTokens is { } cut)
        {
            entry.Outcome = "cut";
            entry.OutputTokens = request.Stream ? plan.TokensBeforeCut(cut) : 0;
        }
        else
        {
            entry.OutputTokens = plan.OutputTokens;
            entry.FinishReason = format.FinishReason(plan.Finish);
        }
        entry.ToolCall = plan.ToolCall?.Name;
        entry.Status = StatusCodes.Status200OK;

        await Pause.ForAsync(behaviour.LatencyMs, cancellationToken);
        if (!request.Stream)
        {
            if (behaviour.CutAfterTokens is not null)
            {
                context.Abort(); // a non-streaming cut is a connection dropped before any response byte
                return;
            }
            var generationMs = behaviour.TtftMs
                + (behaviour.TokensPerSecond > 0 ? Math.Max(0, plan.OutputTokens - 1) / behaviour.TokensPerSecond * 1000 : 0);
            await Pause.ForAsync(generationMs, cancellationToken);
            await WriteJsonAsync(context, StatusCodes.Status200OK, json => format.WriteResponse(json, request, plan), cancellationToken);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "text/event-stream; charset=utf-8";
        context.Response.Headers.CacheControl = "no-cache";
        using var sse = new SseWriter(context.Response.BodyWriter);
        var pacer = new StreamPacer(behaviour, sse, cancellationToken);
        var end = await format.WriteStreamAsync(sse, pacer, request, plan);
        if (end == StreamEnd.Cut)
        {
            switch (behaviour.CutMode)
            {
                case CutMode.Error:
                    format.WriteStreamError(sse, "mock upstream: stream cut by cut_after_tokens");
                    break;
                case CutMode.Abort:
                    await sse.FlushAsync(cancellationToken);
                    // Abort discards output Kestrel has not yet handed to the socket; give the sender
                    // a moment so the client really receives every token before the connection drops.
                    await Task.Delay(AbortGrace, cancellationToken);
                    context.Abort();
                    return;
            }
        }
        await sse.FlushAsync(cancellationToken);
    }

    private bool ShouldFail(ResolvedBehaviour behaviour, string model) =>
        behaviour.FailTimes is not { } times || store.CountFailure(behaviour.FailKey ?? model) <= times;

    // JsonDocument keeps using the pipe's memory rather than copying it, so the buffer is only released
    // (AdvanceTo) when the document is disposed; releasing it earlier lets Kestrel reuse it mid-parse.
    private async Task<RequestJson> ReadJsonAsync(PipeReader reader, RequestLogEntry entry, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            if (!result.IsCompleted)
            {
                reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                continue;
            }
            var buffer = result.Buffer;
            try
            {
                if (options.RequestLogBodies && log.Enabled)
                {
                    entry.Body = Encoding.UTF8.GetString(buffer);
                }
                return new RequestJson(JsonDocument.Parse(buffer), reader, buffer);
            }
            catch
            {
                reader.AdvanceTo(buffer.End);
                throw;
            }
        }
    }

    private sealed class RequestJson(JsonDocument document, PipeReader reader, ReadOnlySequence<byte> buffer) : IDisposable
    {
        public JsonDocument Document => document;

        public void Dispose()
        {
            document.Dispose();
            reader.AdvanceTo(buffer.End);
        }
    }

    private static async Task WriteErrorAsync(
        HttpContext context, WireFormat format, int status, string message, string requestId, int? retryAfter, RequestLogEntry entry)
    {
        entry.Status = status;
        entry.Error ??= message;
        if (retryAfter is { } seconds)
        {
            context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        }
        await WriteJsonAsync(context, status, json => format.WriteError(json, status, message, requestId), context.RequestAborted);
    }

    private static async Task WriteJsonAsync(HttpContext context, int status, Action<Utf8JsonWriter> write, CancellationToken cancellationToken)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        WriteBuffered(response, write);
        await response.BodyWriter.FlushAsync(cancellationToken);
    }

    private static void WriteBuffered(HttpResponse response, Action<Utf8JsonWriter> write)
    {
        var buffer = ResponseBuffer.Rent();
        using (var json = new Utf8JsonWriter(buffer, SseWriter.JsonOptions))
        {
            write(json);
        }
        response.ContentLength = buffer.WrittenCount;
        response.BodyWriter.Write(buffer.WrittenSpan);
    }
}
