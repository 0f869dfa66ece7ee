using Microsoft.ML.Tokenizers;

namespace Majestix.InferenceApi.Inference.Providers;

/// <summary>
/// Counts tokens with o200k_base: the input a call may cost (its worst case is held before it runs), and what
/// was produced when a provider reported no usage (a cut stream, a client abort), so the caller pays for it.
/// Provider numbers always win when present, zeros included.
/// </summary>
/// <remarks>
/// The cost is linear in the text on any input. o200k's byte-pair merge costs the square of a pre-token's
/// length (a 160,000-character run of <c>x</c> took 18 s as one pre-token), so a pre-token longer than
/// <see cref="MaxPreTokenChars"/> is cut into chunks, each counted exactly plus one for the merge a cut may
/// prevent: a little above the exact count, never below it, which is the side a reservation must err on.
/// Everything else, prose and code, is counted exactly as o200k counts it.
/// </remarks>
public sealed class TokenCounter
{
    /// <summary>What a provider's chat template adds around each message (role, separators), system included.</summary>
    public const int MessageOverheadTokens = 4;

    /// <summary>What a provider adds around each tool definition, and around each earlier tool call.</summary>
    public const int ToolOverheadTokens = 8;

    /// <summary>The reply's priming (the assistant turn the template opens).</summary>
    public const int RequestOverheadTokens = 3;

    /// <summary>Longer pre-tokens are counted in chunks of this many characters (a run without a break; prose never has one).</summary>
    public const int MaxPreTokenChars = 256;

    // Stretches of ordinary pre-tokens are counted this many characters at a time, so cancellation is seen often.
    private const int StretchChars = 16 * 1024;

    private readonly Tokenizer _tokenizer = TiktokenTokenizer.CreateForEncoding("o200k_base");

    public int Count(string text) => Count(text, CancellationToken.None);

    /// <summary>The o200k count of <paramref name="text"/>; exact unless a pre-token is longer than <see cref="MaxPreTokenChars"/>.</summary>
    public int Count(string text, CancellationToken cancellationToken) => Saturate(CountLong(text, cancellationToken));

    /// <summary>
    /// Everything the provider counts as input: the system prompt, every message's text, earlier tool calls
    /// (name and input JSON), tool results, and the tool definitions (name, description, input schema), with
    /// the framing a chat template adds around each. Observes <paramref name="cancellationToken"/> as it goes,
    /// so a client that hung up stops the work on a large body.
    /// </summary>
    public int CountInput(ModelRequest request, CancellationToken cancellationToken = default)
    {
        long total = RequestOverheadTokens;
        if (!string.IsNullOrEmpty(request.SystemPrompt))
        {
            total += MessageOverheadTokens + CountLong(request.SystemPrompt, cancellationToken);
        }
        foreach (var message in request.Messages)
        {
            cancellationToken.ThrowIfCancellationRequested();
            total += MessageOverheadTokens;
            foreach (var block in message.Content)
            {
                total += block switch
                {
                    TextBlock text => CountLong(text.Text, cancellationToken),
                    ToolUseBlock use => ToolOverheadTokens + CountLong(use.Name, cancellationToken) + CountLong(use.InputJson, cancellationToken),
                    ToolResultBlock result => CountLong(result.Content, cancellationToken),
                    _ => 0,
                };
            }
        }
        foreach (var tool in request.Tools)
        {
            cancellationToken.ThrowIfCancellationRequested();
            total += ToolOverheadTokens + CountLong(tool.Name, cancellationToken) + CountLong(tool.Description ?? "", cancellationToken)
                + CountLong(tool.InputSchemaJson, cancellationToken);
        }
        return Saturate(total);
    }

    /// <summary>Thinking, text and each tool call's arguments, counted apart so no tokens merge across them.</summary>
    public int CountOutput(ReceivedOutput received) =>
        Count(received.Thinking) + Count(received.Text) + received.ToolArguments.Sum(Count);

    private long CountLong(string text, CancellationToken cancellationToken)
    {
        if (text.Length == 0)
        {
            return 0;
        }
        if (text.Length <= MaxPreTokenChars)
        {
            return _tokenizer.CountTokens(text);
        }

        // Ordinary pre-tokens are gathered into stretches counted by the tokenizer itself (a stretch starts and
        // ends on pre-token boundaries, so it splits as it does inside the whole text); long ones go in chunks.
        long total = 0;
        var stretchStart = 0;
        var stretchEnd = 0;
        foreach (var (offset, length) in _tokenizer.PreTokenizer!.PreTokenize(text))
        {
            if (length <= MaxPreTokenChars && offset + length - stretchStart <= StretchChars)
            {
                stretchEnd = offset + length;
                continue;
            }
            total += CountStretch(text, stretchStart, stretchEnd, cancellationToken);
            if (length <= MaxPreTokenChars)
            {
                (stretchStart, stretchEnd) = (offset, offset + length);
                continue;
            }
            total += CountInChunks(text.AsSpan(offset, length), cancellationToken);
            stretchStart = stretchEnd = offset + length;
        }
        return total + CountStretch(text, stretchStart, stretchEnd, cancellationToken);
    }

    private int CountStretch(string text, int start, int end, CancellationToken cancellationToken)
    {
        if (end <= start)
        {
            return 0;
        }
        cancellationToken.ThrowIfCancellationRequested();
        return _tokenizer.CountTokens(text.AsSpan(start, end - start));
    }

    private long CountInChunks(ReadOnlySpan<char> preToken, CancellationToken cancellationToken)
    {
        long total = 0;
        while (preToken.Length > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var length = Math.Min(MaxPreTokenChars, preToken.Length);
            // Never split a surrogate pair: half a character would count as replacement bytes.
            if (length < preToken.Length && char.IsHighSurrogate(preToken[length - 1]))
            {
                length--;
            }
            total += _tokenizer.CountTokens(preToken[..length], considerPreTokenization: false) + 1;
            preToken = preToken[length..];
        }
        return total;
    }

    private static int Saturate(long count) => (int)Math.Min(count, int.MaxValue);
}
