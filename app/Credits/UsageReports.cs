using Majestix.InferenceApi.Identity;
using Majestix.InferenceApi.Redis;
using Microsoft.AspNetCore.Http.HttpResults;
using StackExchange.Redis;

namespace Majestix.InferenceApi.Credits;

public sealed record PeriodUsage(decimal CreditsUsed, int Requests);

public sealed record ModelUsage(string Model, decimal CreditsUsed, int Requests);

public sealed record UsageTotals(decimal TotalCreditsUsed, int TotalRequests, IReadOnlyList<ModelUsage> BreakdownByModel);

/// <summary>
/// <c>GET /usage/me</c>. Both field sets the live clients read are present; every usage figure covers
/// the current billing cycle. Clients show <c>plan_credits_remaining + topup_balance</c> as the balance.
/// </summary>
public sealed record UsageReport(
    string Plan,
    decimal PlanAllocation,
    decimal PlanCreditsRemaining,
    decimal MonthlyCreditsTotal,
    decimal MonthlyCreditsRemaining,
    decimal TopupBalance,
    DateTimeOffset BillingCycleStart,
    DateTimeOffset BillingCycleEnd,
    PeriodUsage ThisMonth,
    IReadOnlyDictionary<string, PeriodUsage> ByModel,
    UsageTotals Usage);

/// <summary>
/// Builds the report from the hot balance and the ledger's sums for the cycle (charges booked to it), and keeps it for a minute. Anything that
/// moves the caller's balance drops it (<see cref="Forget"/>, or the settle script itself), and so does
/// the ledger writer once the charge is in the ledger, so a charge shows up on the next read after that.
/// </summary>
internal sealed class UsageReports(CreditStore credits, CreditLedger ledger, IDatabase redis, RedisGuard guard)
{
    private static readonly TimeSpan CacheLifetime = TimeSpan.FromSeconds(60);

    public static RedisKey CacheKey(string userId) => $"usage:{userId}";

    public async Task<UsageReport> GetAsync(string userId, CancellationToken cancellationToken)
    {
        var cached = await guard.RunAsync(async () => await redis.StringGetAsync(CacheKey(userId)), RedisValue.Null);
        if (cached.HasValue && System.Text.Json.JsonSerializer.Deserialize((string)cached!, CreditsJson.Default.UsageReport) is { } hit)
        {
            return hit;
        }

        var balance = await credits.GetBalanceAsync(userId, cancellationToken);
        // The cycle's sums, kept with the ledger's entries (one document), not the entries themselves.
        var charges = await ledger.ReadCycleChargesAsync(userId, balance.CycleStart, cancellationToken);
        var byModel = charges.Models
            .Select(model => new ModelUsage(model.Key, CreditUnits.ToCredits(model.Value.Units), (int)model.Value.Requests))
            .OrderByDescending(model => model.CreditsUsed)
            .ThenBy(model => model.Model, StringComparer.Ordinal)
            .ToList();
        var thisCycle = new PeriodUsage(CreditUnits.ToCredits(charges.Units), (int)charges.Requests);
        var allocation = CreditUnits.ToCredits(balance.AllocationUnits);
        var planRemaining = CreditUnits.ToCredits(balance.PlanUnits);
        var report = new UsageReport(
            balance.Plan, allocation, planRemaining, allocation, planRemaining, CreditUnits.ToCredits(balance.TopupUnits),
            balance.CycleStart, balance.CycleEnd, thisCycle,
            byModel.ToDictionary(model => model.Model, model => new PeriodUsage(model.CreditsUsed, model.Requests)),
            new UsageTotals(thisCycle.CreditsUsed, thisCycle.Requests, byModel));

        await guard.RunAsync(async () => await redis.StringSetAsync(CacheKey(userId),
            System.Text.Json.JsonSerializer.Serialize(report, CreditsJson.Default.UsageReport), CacheLifetime), false);
        return report;
    }

    /// <summary>Drops the cached report without waiting for Redis: the caller's request is not slowed for it.</summary>
    public void Forget(string userId) => credits.ForgetUsageReport(userId);
}

internal static class UsageReportApi
{
    public static RouteGroupBuilder MapUsageReport(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/usage")
            .RequireCaller(CallerRequirement.KeyOrWeb)
            .WithTags("Credits");
        group.MapGet("/me", async (CallerContext caller, UsageReports reports, HttpContext context) =>
            TypedResults.Ok(await reports.GetAsync(caller.UserId!, context.RequestAborted))).WithName("UsageMe");
        return group;
    }
}
