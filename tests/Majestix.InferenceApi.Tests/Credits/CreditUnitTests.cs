using Majestix.InferenceApi.Credits;

namespace Majestix.InferenceApi.Tests.Credits;

public sealed class CreditUnitTests
{
    [Fact]
    public void TokenCostIsProviderPriceTimesMarkupInMicroCredits()
    {
        // 1,000 input tokens at $1.25/M = $0.00125; × 1.4 = $0.00175 = 1.75 credits.
        CreditPrice.ForTokens(1.25m, 10m, 1_000, 0).ShouldBe(1_750_000);
        // 2,000 output tokens at $10/M = $0.02; × 1.4 = 28 credits.
        CreditPrice.ForTokens(1.25m, 10m, 0, 2_000).ShouldBe(28_000_000);
    }

    [Fact]
    public void FractionalUnitsRoundUpNeverDown()
    {
        // 1 unit = $0.000000001. 1 token at $0.0001/M × 1.4 = 0.14 units → 1; at $0.0105/M, 14.7 → 15.
        CreditPrice.ForTokens(0.0001m, 0m, 1, 0).ShouldBe(1);
        CreditPrice.ForTokens(0.0105m, 0m, 1, 0).ShouldBe(15);
        CreditPrice.ForTokens(0.10m, 0m, 1, 0).ShouldBe(140);
        CreditPrice.ForTokens(0m, 0m, 1_000, 1_000).ShouldBe(0);
    }

    [Fact]
    public void ImageGenerationCostsFifteenPercentMore()
    {
        CreditPrice.ForProviderCost(0.04m).ShouldBe(56_000_000);
        CreditPrice.ForProviderCost(0.04m, imageGeneration: true).ShouldBe(64_400_000);
    }

    [Fact]
    public void CreditsConvertToUnitsOnlyWithinUnitPrecision()
    {
        CreditUnits.FromCredits(1.5m).ShouldBe(1_500_000);
        CreditUnits.FromCredits(0.000001m).ShouldBe(1);
        CreditUnits.FromCredits(0.0000001m).ShouldBeNull();
        CreditUnits.ToCredits(1_750_000).ShouldBe(1.75m);
    }

    [Fact]
    public void CyclesCountMonthsFromTheAnchorSoMonthEndsDoNotDrift()
    {
        var signUp = new DateTimeOffset(2026, 1, 31, 10, 0, 0, TimeSpan.Zero);
        var firstEnd = signUp.AddMonths(1);

        var february = CreditCycle.Containing(signUp, firstEnd, new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero));
        var april = CreditCycle.Containing(signUp, firstEnd, new DateTimeOffset(2026, 4, 15, 0, 0, 0, TimeSpan.Zero));

        firstEnd.ShouldBe(new DateTimeOffset(2026, 2, 28, 10, 0, 0, TimeSpan.Zero));
        february.ShouldBe(new CreditCycle(1, firstEnd, new DateTimeOffset(2026, 3, 31, 10, 0, 0, TimeSpan.Zero)));
        april.Start.ShouldBe(new DateTimeOffset(2026, 3, 31, 10, 0, 0, TimeSpan.Zero));
        april.End.ShouldBe(new DateTimeOffset(2026, 4, 30, 10, 0, 0, TimeSpan.Zero));
    }
}
