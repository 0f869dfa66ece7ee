using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Majestix.InferenceApi.Billing;

/// <summary>
/// Stripe's webhook signature: <c>Stripe-Signature: t=…,v1=…[,v1=…]</c>, HMAC-SHA256 of <c>"{t}.{raw body}"</c> keyed by
/// the endpoint secret (with its <c>whsec_</c> prefix), hex. Any <c>v1</c> may match any configured secret (both sides
/// can be mid-roll); other schemes are ignored; the timestamp must be within the tolerance either way.
/// </summary>
internal static class StripeSignature
{
    private const int MaxHeaderLength = 4_096;

    public static string? Problem(string? header, ReadOnlySpan<byte> body, IReadOnlyList<string> secrets, TimeSpan tolerance, DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(header))
        {
            return "The Stripe-Signature header is missing.";
        }
        if (header.Length > MaxHeaderLength)
        {
            return "The Stripe-Signature header is too long.";
        }
        long? timestamp = null;
        var signatures = new List<byte[]>();
        foreach (var part in header.Split(',', StringSplitOptions.TrimEntries))
        {
            var equals = part.IndexOf('=');
            if (equals <= 0)
            {
                continue;
            }
            var (scheme, value) = (part[..equals], part[(equals + 1)..]);
            if (scheme == "t" && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
            {
                timestamp = seconds;
            }
            else if (scheme == "v1" && value.Length == 64 && TryHex(value, out var signature))
            {
                signatures.Add(signature);
            }
        }
        if (timestamp is not { } t || signatures.Count == 0)
        {
            return "The Stripe-Signature header has no timestamp or no v1 signature.";
        }
        if (Math.Abs(now.ToUnixTimeSeconds() - t) > tolerance.TotalSeconds)
        {
            return "The Stripe-Signature timestamp is outside the tolerance (a stale or replayed delivery).";
        }
        var prefix = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{t}."));
        var signed = new byte[prefix.Length + body.Length];
        prefix.CopyTo(signed, 0);
        body.CopyTo(signed.AsSpan(prefix.Length));
        foreach (var secret in secrets)
        {
            var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), signed);
            if (signatures.Any(signature => CryptographicOperations.FixedTimeEquals(signature, expected)))
            {
                return null;
            }
        }
        return "No v1 signature matches this endpoint's secret.";
    }

    private static bool TryHex(string value, out byte[] bytes)
    {
        try
        {
            bytes = Convert.FromHexString(value);
            return true;
        }
        catch (FormatException)
        {
            bytes = [];
            return false;
        }
    }
}
