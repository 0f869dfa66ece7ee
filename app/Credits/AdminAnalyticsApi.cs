using System.Globalization;
using Majestix.GoogleCloud.Firestore;
using Majestix.InferenceApi.Errors;
using Majestix.InferenceApi.Identity;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Majestix.InferenceApi.Credits;

public sealed record ModelActivity(string Model, long Requests, decimal CreditsCharged);

public sealed record DayActivity(DateOnly Date, long Requests, decimal CreditsCharged);

/// <summary><c>GET /admin/analytics</c>: charged requests and credits of all users in a period (UTC days, inclusive), and users by plan now.</summary>
public sealed record AnalyticsReport(
    DateOnly From,
    DateOnly To,
    long Requests,
    decimal CreditsCharged,
    decimal CreditsGranted,
    IReadOnlyDictionary<string, long> UsersByPlan,
    IReadOnlyList<ModelActivity> ByModel,
    IReadOnlyList<DayActivity> Days);

public sealed record ModelEconomics(
    string Model,
    long Requests,
    decimal CreditsCharged,
    decimal RevenueUsd,
    decimal ProviderCostUsd,
    decimal MarginUsd);

/// <summary><c>GET /admin/model-economics</c>: per model, what providers cost against what was charged for it (1 credit = $0.001).</summary>
public sealed record ModelEconomicsReport(DateOnly From, DateOnly To, IReadOnlyList<ModelEconomics> Models, ModelEconomics Total);

/// <summary>
/// Admin reports computed from the ledger's day sums (<see cref="LedgerAggregates"/>): a period reads at most
/// <see cref="MaxDays"/> × <see cref="LedgerAggregates.DayShards"/> documents, whatever the traffic in it.
/// </summary>
internal static class AdminAnalyticsApi
{
    public const int MaxDays = 366;

    private const decimal UsdPerCredit = 0.001m;

    public static IEndpointRouteBuilder MapAdminAnalytics(this IEndpointRouteBuilder routes)
    {
        var admin = routes.MapGroup("/admin")
            .RequireCaller(CallerRequirement.Admin)
            .WithTags("Admin");
        admin.MapGet("/analytics", AnalyticsAsync).WithName("AdminAnalytics");
        admin.MapGet("/model-economics", ModelEconomicsAsync).WithName("AdminModelEconomics");
        return routes;
    }

    private static async Task<Results<Ok<AnalyticsReport>, BadRequest<ErrorDetail>>> AnalyticsAsync(
        string? from, string? to, FirestoreClient firestore, TimeProvider time, HttpContext context)
    {
        var (start, end, problem) = Period(from, to, time);
        if (problem is not null)
        {
            return TypedResults.BadRequest(new ErrorDetail(problem));
        }
        var days = await ReadDaysAsync(firestore, start, end, context.RequestAborted);
        var plans = Enum.GetValues<Plan>();
        var counts = await Task.WhenAll(plans.Select(plan =>
            firestore.Collection("users").Where("plan", FirestoreFilterOperator.Equal, plan.WireName()).CountAsync(context.RequestAborted)));
        var period = Add(days.Select(day => day.Sums));
        var byModel = period.Models
            .Select(model => new ModelActivity(model.Key, model.Value.Requests, CreditUnits.ToCredits(model.Value.Units)))
            .OrderByDescending(model => model.CreditsCharged).ThenBy(model => model.Model, StringComparer.Ordinal)
            .ToList();
        return TypedResults.Ok(new AnalyticsReport(start, end,
            period.Requests,
            CreditUnits.ToCredits(period.Units),
            CreditUnits.ToCredits(days.Sum(day => day.Granted)),
            plans.Zip(counts).ToDictionary(pair => pair.First.WireName(), pair => pair.Second),
            byModel,
            [.. days.Select(day => new DayActivity(day.Date, day.Sums.Requests, CreditUnits.ToCredits(day.Sums.Units)))]));
    }

    private static async Task<Results<Ok<ModelEconomicsReport>, BadRequest<ErrorDetail>>> ModelEconomicsAsync(
        string? from, string? to, FirestoreClient firestore, TimeProvider time, HttpContext context)
    {
        var (start, end, problem) = Period(from, to, time);
        if (problem is not null)
        {
            return TypedResults.BadRequest(new ErrorDetail(problem));
        }
        var period = Add((await ReadDaysAsync(firestore, start, end, context.RequestAborted)).Select(day => day.Sums));
        var models = period.Models
            .Select(model => Economics(model.Key, model.Value.Requests, model.Value.Units, model.Value.ProviderCostMicroUsd))
            .OrderByDescending(model => model.CreditsCharged).ThenBy(model => model.Model, StringComparer.Ordinal)
            .ToList();
        var total = Economics("all", period.Requests, period.Units, period.ProviderCostMicroUsd);
        return TypedResults.Ok(new ModelEconomicsReport(start, end, models, total));
    }

    private static ModelEconomics Economics(string model, long requests, long units, long providerCostMicroUsd)
    {
        var credits = CreditUnits.ToCredits(units);
        var revenue = credits * UsdPerCredit;
        var cost = providerCostMicroUsd / 1_000_000m;
        return new ModelEconomics(model, requests, credits, revenue, cost, revenue - cost);
    }

    private sealed record DaySums(DateOnly Date, ChargeSums Sums, long Granted);

    /// <summary>The day sums of the period, the shards of a day added up; one batch read per 400 documents.</summary>
    private static async Task<List<DaySums>> ReadDaysAsync(FirestoreClient firestore, DateOnly from, DateOnly to, CancellationToken cancellationToken)
    {
        var dates = Enumerable.Range(0, to.DayNumber - from.DayNumber + 1).Select(from.AddDays).ToList();
        var paths = dates.SelectMany(date => Enumerable.Range(0, LedgerAggregates.DayShards).Select(shard => LedgerAggregates.DayPath(date, shard))).ToList();
        var documents = new Dictionary<string, FirestoreDocument?>(StringComparer.Ordinal);
        foreach (var chunk in paths.Chunk(400))
        {
            foreach (var (name, document) in (await firestore.GetAllAsync(chunk, cancellationToken)).Documents)
            {
                documents[name] = document;
            }
        }
        return [.. dates.Select(date =>
        {
            var shards = Enumerable.Range(0, LedgerAggregates.DayShards)
                .Select(shard => documents.GetValueOrDefault(firestore.Document(LedgerAggregates.DayPath(date, shard)).Name))
                .ToList();
            return new DaySums(date, Add(shards.Select(LedgerAggregates.ChargesOf)), shards.Sum(shard => LedgerAggregates.Number(shard, "granted")));
        })];
    }

    private static ChargeSums Add(IEnumerable<ChargeSums> parts)
    {
        var list = parts.ToList();
        var models = list.SelectMany(part => part.Models)
            .GroupBy(model => model.Key, StringComparer.Ordinal)
            .ToDictionary(group => group.Key, group => new ModelSums(group.Sum(m => m.Value.Units), group.Sum(m => m.Value.Requests),
                group.Sum(m => m.Value.ProviderCostMicroUsd)), StringComparer.Ordinal);
        return new ChargeSums(list.Sum(p => p.Units), list.Sum(p => p.Requests), list.Sum(p => p.ProviderCostMicroUsd), models);
    }

    /// <summary>The period: UTC dates yyyy-MM-dd, both included; <paramref name="to"/> defaults to today, <paramref name="from"/> to 30 days up to it.</summary>
    private static (DateOnly From, DateOnly To, string? Problem) Period(string? from, string? to, TimeProvider time)
    {
        if ((from is not null && Date(from) is null) || (to is not null && Date(to) is null))
        {
            return (default, default, "from and to must be dates as yyyy-MM-dd (UTC days, both included).");
        }
        var end = Date(to) ?? LedgerAggregates.DayOf(time.GetUtcNow());
        var start = Date(from) ?? end.AddDays(-29);
        if (start > end)
        {
            return (start, end, "from must not be after to.");
        }
        return (start, end, end.DayNumber - start.DayNumber + 1 > MaxDays ? $"The period may cover at most {MaxDays} days." : null);
    }

    private static DateOnly? Date(string? value) =>
        DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date) ? date : null;
}
