namespace Majestix.StripeStandIn.Billing;

/// <summary>What happens when a card is charged, decided by its number as in Stripe's test mode.</summary>
internal enum CardOutcome
{
    Succeeds,
    Declined,
    AuthenticationRequired,
}

internal static class Cards
{
    public const string Visa = "4242424242424242";
    public const string Declined = "4000000000000002";
    public const string AuthenticationRequired = "4000002760003184";

    /// <summary>Stripe's test payment method tokens, accepted wherever a pm_ id is.</summary>
    public static string? NumberOfToken(string token) => token switch
    {
        "pm_card_visa" => Visa,
        "pm_card_chargeDeclined" => Declined,
        "pm_card_authenticationRequired" => AuthenticationRequired,
        "pm_card_mastercard" => "5555555555554444",
        _ => null,
    };

    public static string Normalize(string number) => new([.. number.Where(char.IsDigit)]);

    public static CardOutcome OutcomeOf(string number) => number switch
    {
        Declined => CardOutcome.Declined,
        AuthenticationRequired => CardOutcome.AuthenticationRequired,
        _ => CardOutcome.Succeeds,
    };

    public static string BrandOf(string number) => number.FirstOrDefault() switch
    {
        '4' => "visa",
        '5' or '2' => "mastercard",
        '3' => "amex",
        '6' => "discover",
        _ => "unknown",
    };
}
