using Majestix.InferenceApi.Credits;
using Majestix.InferenceApi.Identity;
using Microsoft.Extensions.Options;

namespace Majestix.InferenceApi.Billing;

/// <summary>A paid plan as Stripe sells it: its monthly price id and amount.</summary>
internal sealed record PaidPlan(Plan Plan, string PriceId, long AmountCents);

/// <summary>A one-time credit package: <c>small</c> $5 → 5,000, <c>medium</c> $25 → 27,500, <c>large</c> $100 → 125,000.</summary>
internal sealed record TopupTier(string Name, string PriceId, long AmountCents, long Credits)
{
    public long Units => CreditUnits.FromWholeCredits(Credits);
}

/// <summary>The fixed plans and packages, mapped to the deployment's Stripe price ids.</summary>
internal sealed class BillingCatalog(IOptions<BillingOptions> options)
{
    public IReadOnlyList<PaidPlan> Plans { get; } =
    [
        new(Plan.Guru, options.Value.GuruPriceId, 1_000),
        new(Plan.Pro, options.Value.ProPriceId, 5_000),
    ];

    public IReadOnlyList<TopupTier> Tiers { get; } =
    [
        new("small", options.Value.Topup5PriceId, 500, 5_000),
        new("medium", options.Value.Topup25PriceId, 2_500, 27_500),
        new("large", options.Value.Topup100PriceId, 10_000, 125_000),
    ];

    public PaidPlan? PlanNamed(string? name) => Plans.FirstOrDefault(p => p.Plan.WireName() == name);

    public PaidPlan? PlanOfPrice(string? priceId) => Plans.FirstOrDefault(p => p.PriceId == priceId);

    public TopupTier? TierNamed(string? name) => Tiers.FirstOrDefault(t => t.Name == name);
}
