using Majestix.InferenceApi.Identity;

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
        if (await CallResponder.ReadBodyAsync(context) is not { } body)
        {
            return;
        }
        var (request, invalid) = CodeRequest.Parse(body);
        if (request is null)
        {
            await CallResponder.ErrorAsync(context, StatusCodes.Status400BadRequest, invalid!);
            return;
        }

        var (call, refusal) = await calls.StartAsync(caller, billedUserId, "/code", request.Stream, request.Model, request.ToModelRequest,
            requireTools: true, context.RequestAborted);
        if (call is null)
        {
            await CallResponder.RefuseAsync(context, caller, refusal!);
            return;
        }

        await CallResponder.AnswerAsync(context, call, calls, request.Stream, ResponseShape.Code);
    }
}
