using System.Text;

namespace Majestix.InferenceApi.Inference.Providers;

/// <summary>
/// Everything a provider received as output in one attempt, kept apart by kind so each is tokenized
/// on its own (a text run and a tool argument string would otherwise merge tokens at the seam).
/// </summary>
public sealed class ReceivedOutput
{
    // Most answers are text alone: the other kinds are allocated when they first arrive.
    private readonly StringBuilder _text = new();
    private StringBuilder? _thinking;
    private Dictionary<string, StringBuilder>? _toolArguments;

    public void AddText(string text) => _text.Append(text);

    public void AddThinking(string text) => (_thinking ??= new StringBuilder()).Append(text);

    /// <summary><paramref name="toolCall"/> identifies the call within this response (id or stream index).</summary>
    public void AddToolArguments(string toolCall, string fragment)
    {
        _toolArguments ??= new Dictionary<string, StringBuilder>(StringComparer.Ordinal);
        if (!_toolArguments.TryGetValue(toolCall, out var arguments))
        {
            _toolArguments[toolCall] = arguments = new StringBuilder();
        }
        arguments.Append(fragment);
    }

    public string Text => _text.ToString();

    public string Thinking => _thinking?.ToString() ?? "";

    public IEnumerable<string> ToolArguments => _toolArguments?.Values.Select(arguments => arguments.ToString()) ?? [];
}
