using System.Globalization;
using Majestix.InferenceApi.Audit;
using Majestix.InferenceApi.Errors;
using Majestix.InferenceApi.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Majestix.InferenceApi.Credits;

internal static class CreditsApi
{
    private const string IdempotencyKeyHeader = "Idempotency-Key";
    private const int MaxReasonLength = 200;

    public static IEndpointRouteBuilder MapCredits(this IEndpointRouteBuilder routes)
    {
        var admin = routes.MapGroup("/admin/credits")
            .RequireCaller(CallerRequirement.Admin)
            .WithTags("Credits");
        admin.MapPost("/grant", GrantAsync).WithName("GrantCredits");

        var user = routes.MapGroup("/credits")
            .RequireCaller(CallerRequirement.KeyOrWeb)
            .WithTags("Credits");
        user.MapPost("/refresh", RefreshAsync).WithName("RefreshCredits");
        routes.MapUsageReport();
        routes.MapAdminAnalytics();
        return routes;
    }

    /// <summary>The 402 every credit-checked endpoint answers when a reservation is refused.</summary>
    public static JsonHttpResult<QuotaExceededError> QuotaExceeded(ReserveResult refused, Plan callerPlan)
    {
        var plan = refused.Plan.Length > 0 ? refused.Plan : callerPlan.WireName();
        var remaining = CreditUnits.ToCredits(refused.AvailableUnits);
        var required = CreditUnits.ToCredits(refused.RequiredUnits);
        var message = string.Create(CultureInfo.InvariantCulture,
            $"Insufficient credits: this request needs up to {required} credits and {remaining} remain on the {plan} plan. Top up or lower max_tokens.");
        return TypedResults.Json(new QuotaExceededError(new QuotaExceededDetail("QUOTA_EXCEEDED", message, remaining, required, plan)),
            CreditsJson.Default.QuotaExceededError, statusCode: StatusCodes.Status402PaymentRequired);
    }

    public static CreditBalanceView View(CreditBalance balance) => new(
        balance.Plan,
        CreditUnits.ToCredits(balance.AllocationUnits),
        CreditUnits.ToCredits(balance.PlanUnits),
        CreditUnits.ToCredits(balance.TopupUnits),
        CreditUnits.ToCredits(balance.TotalUnits),
        balance.CycleStart,
        balance.CycleEnd);

    private static async Task<Results<Ok<GrantCreditsResponse>, BadRequest<ErrorDetail>, Conflict<ErrorDetail>>> GrantAsync(
        GrantCreditsRequest? request, CallerContext caller, CreditStore credits, UsageReports reports, AuditLog audit, IOptions<CreditOptions> options,
        HttpContext context)
    {
        var idempotencyKey = context.Request.Headers[IdempotencyKeyHeader].ToString();
        if (ValidateGrant(request, idempotencyKey, options.Value.MaxGrantCredits) is { } problem)
        {
            return TypedResults.BadRequest(new ErrorDetail(problem));
        }
        var userId = request!.UserId!;
        var units = CreditUnits.FromCredits(request.Credits!.Value)!.Value;
        var grantId = "grant-" + idempotencyKey;

        var granted = await credits.GrantAsync(userId, CreditBucket.Topup, units, grantId, request.Reason!.Trim(), cancellationToken: context.RequestAborted);
        reports.Forget(userId);
        if (granted.Conflict)
        {
            return TypedResults.Conflict(new ErrorDetail("This Idempotency-Key was already used for a different grant."));
        }
        if (!granted.Duplicate)
        {
            audit.Record(CreditAuditEvents.CreditsGranted, context, userId: userId, reason: "admin_grant",
                details: new Dictionary<string, string> { ["grant_id"] = grantId, ["granted_by"] = caller.UserId ?? "" });
        }
        return TypedResults.Ok(new GrantCreditsResponse(grantId, userId, CreditUnits.ToCredits(units), granted.Duplicate));
    }

    private static string? ValidateGrant(GrantCreditsRequest? request, string idempotencyKey, int maxCredits)
    {
        if (request is null)
        {
            return "A JSON body {user_id, credits, reason} is required.";
        }
        if (!DocumentIds.IsValid(request.UserId))
        {
            return $"user_id is required: 1 to {DocumentIds.MaxLength} letters, digits or -_.:";
        }
        if (request.Credits is not { } amount || amount <= 0 || amount > maxCredits)
        {
            return $"credits must be greater than 0 and at most {maxCredits}.";
        }
        if (CreditUnits.FromCredits(amount) is null)
        {
            return "credits may have at most 6 decimal places.";
        }
        if (string.IsNullOrWhiteSpace(request.Reason) || request.Reason.Length > MaxReasonLength || request.Reason.Any(char.IsControl))
        {
            return $"reason is required: 1 to {MaxReasonLength} characters, no control characters.";
        }
        if (idempotencyKey.Length == 0)
        {
            return "An Idempotency-Key header is required: a retried grant must not be applied twice.";
        }
        if (!DocumentIds.IsValid(idempotencyKey))
        {
            return $"Idempotency-Key must be 1 to {DocumentIds.MaxLength} letters, digits or -_.:";
        }
        return null;
    }

    private static async Task<Ok<CreditBalanceView>> RefreshAsync(CallerContext caller, CreditStore credits, UsageReports reports, Keys.ApiKeyStore keys, HttpContext context)
    {
        var balance = await credits.RefreshAsync(caller.UserId!, context.RequestAborted);
        await keys.PublishPlanAsync(caller.UserId!, Plans.Parse(balance.Plan)); // the plan just re-read reaches cached keys at once
        reports.Forget(caller.UserId!);
        return TypedResults.Ok(View(balance));
    }
}
