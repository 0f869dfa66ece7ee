using Majestix.GoogleCloud.Firestore;
using Majestix.InferenceApi.Audit;
using Majestix.InferenceApi.Errors;
using Majestix.InferenceApi.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Majestix.InferenceApi.Keys;

internal static class KeysApi
{
    public static RouteGroupBuilder MapApiKeys(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api-keys")
            .RequireCaller(CallerRequirement.WebOnly)
            .WithTags("API keys");

        group.MapPost("/", CreateAsync).WithName("CreateApiKey");
        group.MapGet("/", ListAsync).WithName("ListApiKeys");
        group.MapDelete("/{key_id}", RevokeAsync).WithName("RevokeApiKey");
        return group;
    }

    private static async Task<Results<Ok<CreatedApiKey>, BadRequest<ErrorDetail>, JsonHttpResult<ErrorDetail>, Conflict<ErrorDetail>>> CreateAsync(
        CreateApiKeyRequest? request, CallerContext caller, ApiKeyStore keys, AuditLog audit, IOptions<ApiKeyOptions> options,
        HttpContext context)
    {
        if (ApiKeyStore.ValidateName(request?.Name) is { } problem)
        {
            return TypedResults.BadRequest(new ErrorDetail(problem));
        }
        CreatedApiKey? created;
        try
        {
            created = await keys.CreateAsync(caller.UserId!, request?.Name, context.RequestAborted);
        }
        catch (FirestoreException exception) when (exception.Kind == FirestoreErrorKind.Aborted)
        {
            return TypedResults.Conflict(new ErrorDetail("Another API key change for this account is in progress; retry."));
        }
        if (created is null)
        {
            var max = options.Value.MaxActivePerUser;
            return TypedResults.Json(new ErrorDetail($"You already have {max} active API keys, the maximum. Revoke one before creating another."),
                AppJson.Default.ErrorDetail, statusCode: StatusCodes.Status429TooManyRequests);
        }
        audit.Record(AuditEventTypes.KeyCreated, context, userId: caller.UserId, keyId: created.KeyId);
        return TypedResults.Ok(created);
    }

    private static async Task<Ok<ApiKeyList>> ListAsync(CallerContext caller, ApiKeyStore keys, HttpContext context) =>
        TypedResults.Ok(new ApiKeyList(await keys.ListAsync(caller.UserId!, context.RequestAborted)));

    private static async Task<Results<NoContent, NotFound<ErrorDetail>>> RevokeAsync(
        string key_id, CallerContext caller, ApiKeyStore keys, AuditLog audit, HttpContext context)
    {
        if (!await keys.RevokeAsync(caller.UserId!, key_id, context.RequestAborted))
        {
            return TypedResults.NotFound(new ErrorDetail("API key not found."));
        }
        audit.Record(AuditEventTypes.KeyRevoked, context, userId: caller.UserId, keyId: key_id);
        return TypedResults.NoContent();
    }
}
