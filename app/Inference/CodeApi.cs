using Majestix.InferenceApi.Identity;
using Majestix.InferenceApi.OpenApi;

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
            .RequireCaller(CallerRequirement.ModelCall)
            .AcceptsModelCallBodies()
            .WithTags("Inference");
        group.MapPost("/", (HttpContext context, GateTicket ticket, ModelCall calls) => HandleAsync(context, ticket, calls))
            .WithMetadata(HoldsInGate.Instance)
            .WithName("Code")
            .DescribesModelCall<CodeRequestBody, CodeResponseBody>("A model call for coding clients, which run the tools themselves");
        return group;
    }

    /// <remarks>
    /// The caller's gate may still be pending (<see cref="GateTicket"/>): the body is read and checked first
    /// so the call's credits can be held in the gate's trip, and every answer before the call waits for the gate.
    /// </remarks>
    private static async Task HandleAsync(HttpContext context, GateTicket ticket, ModelCall calls)
    {
        using var document = await CallResponder.ReadBodyAsync(context, ticket);
        if (document is null)
        {
            return;
        }
        var (request, invalid) = CodeRequest.Parse(document.RootElement);
        if (request is null)
        {
            if (await ticket.ResolveAsync() is not null)
            {
                await CallResponder.ErrorAsync(context, StatusCodes.Status400BadRequest, invalid!);
            }
            return;
        }

        var (call, refusal) = await calls.StartAsync(ticket, "/code", request.Stream, request.Model, request.ToModelRequest,
            requireTools: true, context.RequestAborted);
        if (call is null)
        {
            if (refusal is not null)
            {
                await CallResponder.RefuseAsync(context, ticket.Caller!, refusal);
            }
            return;
        }

        await CallResponder.AnswerAsync(context, call, calls, request.Stream, ResponseShape.Code);
    }
}
