using System.Text.Json;
using Majestix.InferenceApi.Identity;
using Majestix.InferenceApi.Keys;
using Majestix.InferenceApi.RateLimiting;

namespace Majestix.InferenceApi.Inference;

/// <summary>
/// <c>POST /internal/agent/code</c>: <c>/code</c> for the agent executor, which calls with a Google OIDC
/// token and names the user to bill in the body. Billing, plan gating and usage stay here, in one place.
/// </summary>
internal static class AgentCodeApi
{
    private const int MaxIdLength = 128;

    public static RouteGroupBuilder MapAgentCode(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/internal/agent")
            .RequireCaller(CallerRequirement.Internal)
            .AcceptsModelCallBodies()
            .WithTags("Internal");
        group.MapPost("/code", HandleAsync).WithName("AgentCode");
        return group;
    }

    private static async Task HandleAsync(HttpContext context, CallerContext caller, ModelCall calls, ApiKeyStore users, UserLimits limits)
    {
        using var document = await CallResponder.ReadBodyAsync(context);
        if (document is null)
        {
            return;
        }
        var body = document.RootElement;
        var userId = Identifier(body, "user_id");
        if (userId is null)
        {
            await CallResponder.ErrorAsync(context, StatusCodes.Status400BadRequest, $"user_id is required: a string of 1 to {MaxIdLength} characters without '/'.");
            return;
        }
        if (!await limits.AdmitAgentCallAsync(context, caller, userId))
        {
            return;
        }
        var taskId = body.TryGetProperty("task_id", out var task) && task.ValueKind != JsonValueKind.Null ? Identifier(body, "task_id") : null;
        if (task.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null) && taskId is null)
        {
            await CallResponder.ErrorAsync(context, StatusCodes.Status400BadRequest, $"task_id must be a string of 1 to {MaxIdLength} characters without '/'.");
            return;
        }
        var (request, invalid) = CodeRequest.Parse(body);
        if (request is null)
        {
            await CallResponder.ErrorAsync(context, StatusCodes.Status400BadRequest, invalid!);
            return;
        }

        var plan = await users.ReadPlanAsync(userId, context.RequestAborted);
        if (plan == Plan.Free)
        {
            await CallResponder.ErrorAsync(context, StatusCodes.Status403Forbidden, "Agents are available on paid plans (Guru, Pro) only.");
            return;
        }

        var billed = caller with { UserId = userId, Plan = plan };
        var (call, refusal) = await calls.StartAsync(billed, userId, "/internal/agent/code", request.Stream, request.Model, request.ToModelRequest,
            requireTools: true, context.RequestAborted);
        if (call is null)
        {
            await CallResponder.RefuseAsync(context, billed, refusal!);
            return;
        }
        await CallResponder.AnswerAsync(context, call with { AgentTaskId = taskId }, calls, request.Stream, ResponseShape.Code);
    }

    private static string? Identifier(JsonElement body, string name) =>
        body.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
        && value.GetString() is { Length: > 0 and <= MaxIdLength } text && !text.Contains('/', StringComparison.Ordinal)
            ? text
            : null;
}
