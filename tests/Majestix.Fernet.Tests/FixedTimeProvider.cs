using System.Globalization;

namespace Majestix.Fernet.Tests;

internal sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;

    public static FixedTimeProvider At(string iso8601) => new(DateTimeOffset.Parse(iso8601, CultureInfo.InvariantCulture));

    public override DateTimeOffset GetUtcNow() => Now.ToUniversalTime();
}
