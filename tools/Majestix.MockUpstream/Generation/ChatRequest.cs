using System.Text.Json;

namespace Majestix.MockUpstream.Generation;

internal sealed record ToolDefinition(string Name, JsonElement? Schema);

// What both wire formats boil down to. Input tokens and the seed come from the same text, so the
// counting rule in the README is the whole story.
internal sealed class ChatRequest
{
    public const string AnyTool = "*";

    private Seed _seed = new();

    public required string Model { get; init; }

    public bool Stream { get; set; }

    public bool IncludeUsage { get; set; }

    public int? MaxTokens { get; set; }

    public int InputTokens { get; private set; }

    public ulong Seed => _seed.Value;

    public string? LastUserText { get; set; }

    public int MessageCount { get; set; }

    public List<ToolDefinition> Tools { get; } = [];

    /// <summary>Tool the request's tool_choice forces: a name, <see cref="AnyTool"/>, or null.</summary>
    public string? ForcedTool { get; set; }

    public bool ThinkingRequested { get; set; }

    public int? ThinkingBudget { get; set; }

    public void AddInputText(string text)
    {
        InputTokens += TokenCounter.Count(text);
        _seed.Add(text);
    }

    public void SeedModel() => _seed.Add(Model);

    // Providers bill the framing around the texts too; these counts are the README's input rule.
    public const int RequestFramingTokens = 3;
    public const int MessageFramingTokens = 4;
    public const int ToolFramingTokens = 8;

    /// <summary>Framing, tool names, schemas and tool-call inputs: billed as input, never part of the seed or a directive.</summary>
    public void AddBilledOnly(int framingTokens, params ReadOnlySpan<string?> texts)
    {
        InputTokens += framingTokens;
        foreach (var text in texts)
        {
            InputTokens += string.IsNullOrEmpty(text) ? 0 : TokenCounter.Count(text);
        }
    }
}
