using Microsoft.ML.Tokenizers;

namespace Majestix.InferenceApi.Inference.Providers;

/// <summary>
/// Counts tokens with o200k_base when a provider reported no usage (a cut stream, a client abort), so the
/// caller pays for what was actually produced. Provider numbers always win when present, zeros included.
/// </summary>
public sealed class TokenCounter
{
    private readonly Tokenizer _tokenizer = TiktokenTokenizer.CreateForEncoding("o200k_base");

    public int Count(string text) => text.Length == 0 ? 0 : _tokenizer.CountTokens(text);

    /// <summary>Every text the request sends, each counted on its own: system prompt, text blocks, tool results.</summary>
    public int CountInput(ModelRequest request)
    {
        var total = Count(request.SystemPrompt ?? "");
        foreach (var message in request.Messages)
        {
            foreach (var block in message.Content)
            {
                total += block switch
                {
                    TextBlock text => Count(text.Text),
                    ToolResultBlock result => Count(result.Content),
                    _ => 0,
                };
            }
        }
        return total;
    }

    /// <summary>Thinking, text and each tool call's arguments, counted apart so no tokens merge across them.</summary>
    public int CountOutput(ReceivedOutput received) =>
        Count(received.Thinking) + Count(received.Text) + received.ToolArguments.Sum(Count);
}
