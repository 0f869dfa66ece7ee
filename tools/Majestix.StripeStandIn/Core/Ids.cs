using System.Security.Cryptography;

namespace Majestix.StripeStandIn.Core;

/// <summary>Stripe-style identifiers: a prefix and random alphanumerics.</summary>
internal static class Ids
{
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    public static string New(string prefix, int length = 24) => prefix + RandomNumberGenerator.GetString(Alphabet, length);

    public static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    /// <summary>One calendar month later, as Stripe bills monthly subscriptions.</summary>
    public static long AddMonth(long unix) => DateTimeOffset.FromUnixTimeSeconds(unix).AddMonths(1).ToUnixTimeSeconds();
}
