using System.Text;

namespace Majestix.InferenceApi.Inference.Providers;

/// <summary>
/// Everything a provider received as output in one attempt, kept apart by kind so each is tokenized
/// on its own (a text run and a tool argument string would otherwise merge tokens at the seam).
/// </summary>
public sealed class ReceivedOutput
{
    private readonly StringBuilder _text = new();
    private readonly StringBuilder _thinking = new();
    private readonly Dictionary<string, StringBuilder> _toolArguments = new(StringComparer.Ordinal);

    public void AddText(string text) => _text.Append(text);

    public void AddThinking(string text) => _thinking.Append(text);

    /// <summary><paramref name="toolCall"/> identifies the call within this response (id or stream index).</summary>
    public void AddToolArguments(string toolCall, string fragment)
    {
        if (!_toolArguments.TryGetValue(toolCall, out var arguments))
        {
            _toolArguments[toolCall] = arguments = new StringBuilder();
        }
        arguments.Append(fragment);
    }

    public string Text => _text.ToString();

    public string Thinking => _thinking.ToString();

    public IEnumerable<string> ToolArguments => _toolArguments.Values.Select(arguments => arguments.ToString());
}
