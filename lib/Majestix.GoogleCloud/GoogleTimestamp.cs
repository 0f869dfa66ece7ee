using System.Globalization;

namespace Majestix.GoogleCloud;

internal static class GoogleTimestamp
{
    // Google APIs store microseconds (Firestore, Tasks); writing exactly six digits keeps update-time preconditions exact.
    public static string Format(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    public static string Format(DateTime value) => Format(
        value.Kind == DateTimeKind.Unspecified ? new DateTimeOffset(value, TimeSpan.Zero) : new DateTimeOffset(value.ToUniversalTime()));

    /// <summary>Parses RFC 3339 with 0–9 fractional digits (.NET only holds 7).</summary>
    public static DateTimeOffset Parse(string value)
    {
        var dot = value.IndexOf('.', StringComparison.Ordinal);
        if (dot >= 0)
        {
            var end = dot + 1;
            while (end < value.Length && char.IsAsciiDigit(value[end]))
            {
                end++;
            }

            if (end - dot - 1 > 7)
            {
                value = string.Concat(value.AsSpan(0, dot + 8), value.AsSpan(end));
            }
        }

        return DateTimeOffset.Parse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
    }

    public static DateTimeOffset? ParseOptional(string? value) => value is null ? null : Parse(value);
}
