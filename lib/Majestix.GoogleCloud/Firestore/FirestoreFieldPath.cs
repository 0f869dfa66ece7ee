using System.Text;

namespace Majestix.GoogleCloud.Firestore;

/// <summary>Builds field paths for masks, filters, ordering and transforms.</summary>
public static class FirestoreFieldPath
{
    /// <summary>The pseudo-field for ordering and filtering by document name.</summary>
    public const string DocumentId = "__name__";

    /// <summary>
    /// Joins segments with dots, quoting each segment that is not a simple identifier in backticks
    /// (<c>a.`x-y`.b</c>).
    /// </summary>
    public static string Of(params string[] segments)
    {
        ArgumentNullException.ThrowIfNull(segments);
        return string.Join('.', segments.Select(Escape));
    }

    /// <summary>Quotes one segment when needed.</summary>
    public static string Escape(string segment)
    {
        ArgumentException.ThrowIfNullOrEmpty(segment);
        if (IsSimple(segment))
        {
            return segment;
        }

        return new StringBuilder(segment.Length + 2)
            .Append('`')
            .Append(segment.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("`", "\\`", StringComparison.Ordinal))
            .Append('`')
            .ToString();
    }

    /// <summary>Splits a dotted path, honouring backtick quoting.</summary>
    public static IReadOnlyList<string> Split(string fieldPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(fieldPath);
        var segments = new List<string>();
        var current = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < fieldPath.Length; i++)
        {
            var c = fieldPath[i];
            if (quoted && c == '\\' && i + 1 < fieldPath.Length)
            {
                current.Append(fieldPath[++i]);
            }
            else if (c == '`')
            {
                quoted = !quoted;
            }
            else if (c == '.' && !quoted)
            {
                segments.Add(current.ToString());
                current.Clear();
            }
            else
            {
                current.Append(c);
            }
        }

        segments.Add(current.ToString());
        return segments;
    }

    private static bool IsSimple(string segment) =>
        (char.IsAsciiLetter(segment[0]) || segment[0] == '_')
        && segment.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
}
