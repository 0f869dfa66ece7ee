using System.Text.RegularExpressions;

namespace Majestix.MockUpstream.Behaviour;

// The gateway does not forward client headers, so tests script the upstream through the prompt:
// "[[mock latency_ms=50 status=500]]" anywhere in the last user message.
internal static partial class Directive
{
    [GeneratedRegex(@"\[\[mock(?<body>[^\[\]]*)\]\]", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    public static MockBehaviour? Parse(string? text)
    {
        if (string.IsNullOrEmpty(text) || !text.Contains("[[mock", StringComparison.Ordinal))
        {
            return null;
        }

        MockBehaviour? behaviour = null;
        foreach (Match match in Pattern().Matches(text))
        {
            var body = match.Groups["body"].Value;
            if (body.Length > 0 && !char.IsWhiteSpace(body[0]))
            {
                continue; // "[[mockery]]" is prose, not a directive
            }
            behaviour ??= new MockBehaviour();
            foreach (var part in body.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = part.IndexOf('=', StringComparison.Ordinal);
                if (eq < 0)
                {
                    behaviour.Set(part, "true");
                }
                else
                {
                    behaviour.Set(part[..eq], part[(eq + 1)..]);
                }
            }
        }
        return behaviour;
    }
}
