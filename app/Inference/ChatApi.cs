using System.Buffers;
using System.Text.Json;
using Majestix.InferenceApi.Identity;
using Majestix.InferenceApi.Inference.Providers;
using Majestix.InferenceApi.OpenApi;
using Majestix.InferenceApi.Sessions;

namespace Majestix.InferenceApi.Inference;

/// <summary>
/// <c>POST /chat</c>: the <c>/code</c> request body with server-side sessions. Streams <c>chunk</c>,
/// <c>tool_use</c>, then <c>done</c> (with <c>session_id</c>) or <c>error</c> (with <c>detail</c> and <c>message</c>).
/// Without <c>session_id</c> a new session is started; with one, the stored history is sent ahead of the
/// new messages. A successful call appends the new messages and the reply to the session.
/// </summary>
internal static class ChatApi
{
    private const string Endpoint = "/chat";
    private static readonly ResponseShape BaseShape = new("chunk");

    public static RouteGroupBuilder MapChat(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup(Endpoint)
            .RequireCaller(CallerRequirement.ModelCall)
            .AcceptsModelCallBodies()
            .WithTags("Inference");
        group.MapPost("/", HandleAsync).WithName("Chat")
            .DescribesModelCall<ChatRequestBody, ChatResponseBody>("A model call that continues or starts a server-side session");
        return group;
    }

    private static async Task HandleAsync(HttpContext context, CallerContext caller, ModelCall calls, SessionStore sessions, TimeProvider time)
    {
        using var document = await CallResponder.ReadBodyAsync(context);
        if (document is null)
        {
            return;
        }
        var body = document.RootElement;
        var (request, invalid) = CodeRequest.Parse(body, sessionMayCarryMessages: true);
        if (request is null)
        {
            await CallResponder.ErrorAsync(context, StatusCodes.Status400BadRequest, invalid!);
            return;
        }

        // Before anything is held: a session that is missing or someone else's is a plain 404.
        Session? session = null;
        List<ModelMessage> history = [];
        if (request.SessionId is { Length: > 0 } sessionId)
        {
            session = await sessions.LoadAsync(sessionId, caller);
            if (session is null)
            {
                await CallResponder.ErrorAsync(context, StatusCodes.Status404NotFound, "Session not found.");
                return;
            }
            history = [.. session.Messages.Select(stored => CodeRequest.ParseStored(stored.Role, stored.Content)).OfType<ModelMessage>()];
        }
        if (history.Count + request.Messages.Count == 0)
        {
            await CallResponder.ErrorAsync(context, StatusCodes.Status400BadRequest, "messages is required and must be a non-empty array.");
            return;
        }
        var sent = request with { Messages = [.. history, .. request.Messages] };

        var (call, refusal) = await calls.StartAsync(caller, caller.UserId!, Endpoint, sent.Stream, sent.Model, sent.ToModelRequest,
            requireTools: sent.Tools.Count > 0, context.RequestAborted);
        if (call is null)
        {
            await CallResponder.RefuseAsync(context, caller, refusal!);
            return;
        }

        var sessionIdOut = session?.Id ?? await sessions.CreateAsync(caller, call.Run.Requested.Key);
        var newMessages = NewMessages(body, time.GetUtcNow());
        var shape = BaseShape with
        {
            WriteExtra = writer => writer.WriteString("session_id", sessionIdOut),
            OnCompleted = async reply =>
            {
                List<SessionMessage> turn = [.. newMessages];
                if (reply.Text.Length > 0 || reply.ToolUses.Count > 0)
                {
                    turn.Add(SessionMessage.Blocks(SessionRoles.Assistant, ReplyBlocks(reply), time.GetUtcNow()));
                }
                // The client has its answer either way; the history just stops growing if the session went away.
                _ = session is null
                    ? await sessions.AppendAsync(sessionIdOut, caller, turn, CancellationToken.None)
                    : await sessions.AppendAsync(session, caller, turn, CancellationToken.None);
            },
        };
        await CallResponder.AnswerAsync(context, call, calls, sent.Stream, shape);
    }

    // The request's own messages as sent (already validated by the parse), so stored blocks keep the client's shape.
    private static List<SessionMessage> NewMessages(JsonElement body, DateTimeOffset now) =>
        body.TryGetProperty("messages", out var messages) && messages.ValueKind == JsonValueKind.Array
            ? [.. messages.EnumerateArray().Select(message => SessionMessage.Blocks(message.GetProperty("role").GetString()!, message.GetProperty("content"), now))]
            : [];

    private static JsonElement ReplyBlocks(CallReply reply)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            CallResponder.WriteReplyBlocks(writer, reply);
            writer.WriteEndArray();
        }
        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }
}
