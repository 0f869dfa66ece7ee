using Majestix.InferenceApi.Errors;
using Majestix.InferenceApi.Identity;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Majestix.InferenceApi.Sessions;

internal static class SessionsApi
{
    // One answer for missing, someone else's, undecryptable and malformed: nothing tells them apart.
    private static readonly ErrorDetail NotFoundDetail = new("Session not found.");

    public static RouteGroupBuilder MapSessions(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/sessions")
            .RequireCaller(CallerRequirement.KeyOrWeb)
            .WithTags("Sessions");

        group.MapGet("/{session_id}", GetAsync).WithName("GetSession").WithSummary("History of one of the caller's sessions");
        group.MapDelete("/{session_id}", DeleteAsync).WithName("DeleteSession").WithSummary("Deletes one of the caller's sessions");
        return group;
    }

    private static async Task<Results<Ok<SessionView>, NotFound<ErrorDetail>>> GetAsync(string session_id, CallerContext caller, SessionStore sessions)
    {
        var session = await sessions.LoadAsync(session_id, caller);
        return session is null
            ? TypedResults.NotFound(NotFoundDetail)
            : TypedResults.Ok(new SessionView(session.Id, session.Model, session.CreatedAt, session.UpdatedAt, session.Messages));
    }

    private static async Task<Results<NoContent, NotFound<ErrorDetail>>> DeleteAsync(string session_id, CallerContext caller, SessionStore sessions) =>
        await sessions.DeleteAsync(session_id, caller) ? TypedResults.NoContent() : TypedResults.NotFound(NotFoundDetail);
}
