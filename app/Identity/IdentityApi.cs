using Microsoft.AspNetCore.Http.HttpResults;

namespace Majestix.InferenceApi.Identity;

/// <summary>Who the service thinks the caller is: lets clients and the executor check their credentials.</summary>
public sealed record CallerView(string Source, string? UserId, string? Plan, string? KeyId, bool IsAdmin, string? ServiceAccount);

internal static class IdentityApi
{
    public static IEndpointRouteBuilder MapIdentity(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/me", Describe).RequireCaller(CallerRequirement.KeyOrWeb).WithTags("Identity").WithName("WhoAmI");
        routes.MapGet("/internal/me", Describe).RequireCaller(CallerRequirement.Internal).WithTags("Identity").WithName("InternalWhoAmI");
        return routes;
    }

    private static Ok<CallerView> Describe(CallerContext caller) =>
        TypedResults.Ok(new CallerView(
            caller.SourceName,
            caller.UserId,
            caller.Source == CallerSource.Agent ? null : caller.Plan.WireName(),
            caller.KeyId,
            caller.IsAdmin,
            caller.ServiceAccount));
}
