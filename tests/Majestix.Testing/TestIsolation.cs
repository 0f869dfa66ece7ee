namespace Majestix.Testing;

/// <summary>Unique names that keep tests sharing one emulator or Redis server apart.</summary>
public static class TestIsolation
{
    /// <summary>A fresh project id (lowercase letters, digits, hyphens; under 30 characters).</summary>
    public static string NewProjectId(string prefix = "test") => $"{Sanitize(prefix, 12)}-{Suffix()}";

    /// <summary>A fresh Redis key prefix such as <c>test:1a2b3c4d5e6f:</c>.</summary>
    public static string NewKeyPrefix(string prefix = "test") => $"{prefix}:{Suffix()}:";

    /// <summary>A fresh resource id (topic, subscription, document id).</summary>
    public static string NewId(string prefix = "id") => $"{Sanitize(prefix, 40)}-{Suffix()}";

    private static string Suffix() => Guid.NewGuid().ToString("N")[..12];

    private static string Sanitize(string prefix, int maxLength)
    {
        var cleaned = new string(prefix.ToLowerInvariant().Where(c => char.IsAsciiLetterOrDigit(c) || c == '-').ToArray());
        cleaned = cleaned.Length == 0 || !char.IsAsciiLetter(cleaned[0]) ? "t" + cleaned : cleaned;
        return cleaned.Length > maxLength ? cleaned[..maxLength] : cleaned;
    }
}
