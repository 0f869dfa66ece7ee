using Majestix.InferenceApi.Identity;
using Majestix.InferenceApi.Inference.Catalog;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Majestix.InferenceApi.Inference;

/// <summary>The shape the live product's clients parse from <c>GET /models</c>.</summary>
public sealed record ModelView(string Key, string DisplayName, string Provider, string Category, int ContextWindow, bool IsCustom, bool SupportsTools);

public sealed record ModelList(IReadOnlyList<ModelView> Models);

internal static class ModelsApi
{
    public static RouteGroupBuilder MapModels(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/models")
            .RequireCaller(CallerRequirement.KeyOrWeb)
            .WithTags("Models");
        group.MapGet("/", List).WithName("ListModels");
        return group;
    }

    // Only what the caller's plan may use: a model the client cannot call is not offered.
    private static Ok<ModelList> List(CallerContext caller, ModelCatalog catalog) =>
        TypedResults.Ok(new ModelList([.. catalog.AllowedFor(caller.Plan).Select(model => new ModelView(
            model.Key, model.DisplayName, model.ProviderName, model.Category, model.ContextWindow, model.IsCustom, model.SupportsTools))]));
}
