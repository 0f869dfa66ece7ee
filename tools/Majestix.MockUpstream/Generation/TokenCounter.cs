using Microsoft.ML.Tokenizers;

namespace Majestix.MockUpstream.Generation;

internal static class TokenCounter
{
    private static readonly Lazy<Tokenizer> Instance = new(() => TiktokenTokenizer.CreateForEncoding("o200k_base"));

    public static Tokenizer Tokenizer => Instance.Value;

    public static int Count(string text) => text.Length == 0 ? 0 : Tokenizer.CountTokens(text);

    /// <summary>
    /// Splits <paramref name="text"/> at o200k token boundaries; <c>Cumulative[i]</c> is the token count of the
    /// text up to the end of fragment i, so a stream cut after any fragment reports exactly what was sent.
    /// </summary>
    public static (string[] Fragments, int[] Cumulative) Fragment(string text)
    {
        if (text.Length == 0)
        {
            return ([], []);
        }
        var tokens = Tokenizer.EncodeToTokens(text, out _);
        var fragments = new List<string>(tokens.Count);
        var start = 0;
        for (var i = 0; i < tokens.Count; i++)
        {
            var end = i == tokens.Count - 1 ? text.Length : tokens[i].Offset.End.GetOffset(text.Length);
            if (end > start)
            {
                fragments.Add(text[start..end]);
                start = end;
            }
        }
        var cumulative = new int[fragments.Count];
        var length = 0;
        for (var i = 0; i < fragments.Count; i++)
        {
            length += fragments[i].Length;
            cumulative[i] = Tokenizer.CountTokens(text.AsSpan(0, length));
        }
        return ([.. fragments], cumulative);
    }
}
