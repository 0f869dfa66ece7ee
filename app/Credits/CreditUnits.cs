namespace Majestix.InferenceApi.Credits;

/// <summary>
/// Credits are stored as integer micro-credits everywhere (Redis, Firestore, Lua): usage is fractional
/// and floating point must never decide a balance. Decimal credits exist only at the edges.
/// </summary>
public static class CreditUnits
{
    public const long PerCredit = 1_000_000;

    public static decimal ToCredits(long units) => units / (decimal)PerCredit;

    public static long FromWholeCredits(long credits) => checked(credits * PerCredit);

    /// <summary>Null when <paramref name="credits"/> has more precision than one unit.</summary>
    public static long? FromCredits(decimal credits)
    {
        var units = credits * PerCredit;
        return decimal.Truncate(units) == units ? (long)units : null;
    }
}

/// <summary>What a model call costs: provider price × 1.4 (image generation × 1.15 more), rounded up to the unit.</summary>
public static class CreditPrice
{
    public const decimal Markup = 1.4m;
    public const decimal ImageMarkup = 1.15m;

    // 1 credit = $0.001, so $1 = 1,000 credits.
    private const decimal UnitsPerUsd = 1_000m * CreditUnits.PerCredit;

    public static long ForTokens(decimal inputUsdPerMillion, decimal outputUsdPerMillion, long inputTokens, long outputTokens, bool imageGeneration = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(inputTokens);
        ArgumentOutOfRangeException.ThrowIfNegative(outputTokens);
        var providerUsd = (inputUsdPerMillion * inputTokens + outputUsdPerMillion * outputTokens) / 1_000_000m;
        return ForProviderCost(providerUsd, imageGeneration);
    }

    public static long ForProviderCost(decimal providerUsd, bool imageGeneration = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(providerUsd);
        var units = providerUsd * UnitsPerUsd * Markup * (imageGeneration ? ImageMarkup : 1m);
        return (long)decimal.Ceiling(units);
    }
}
