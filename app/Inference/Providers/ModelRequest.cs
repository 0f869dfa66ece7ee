namespace Majestix.InferenceApi.Inference.Providers;

public enum MessageRole
{
    User,
    Assistant,
}

/// <summary>A content block in the <c>/code</c> contract's shape; providers map it to their wire format.</summary>
public abstract record ContentBlock;

public sealed record TextBlock(string Text) : ContentBlock;

/// <summary>A tool call the model made earlier; <paramref name="InputJson"/> is the raw JSON object.</summary>
public sealed record ToolUseBlock(string Id, string Name, string InputJson) : ContentBlock;

public sealed record ToolResultBlock(string ToolUseId, string Content, bool IsError = false) : ContentBlock;

public sealed record ModelMessage(MessageRole Role, IReadOnlyList<ContentBlock> Content)
{
    public static ModelMessage User(string text) => new(MessageRole.User, [new TextBlock(text)]);

    public static ModelMessage Assistant(string text) => new(MessageRole.Assistant, [new TextBlock(text)]);
}

/// <summary>A tool the client offers; <paramref name="InputSchemaJson"/> is the raw JSON schema object.</summary>
public sealed record ToolDefinition(string Name, string? Description, string InputSchemaJson);

/// <summary>
/// One model call in the gateway's own terms. <see cref="Model"/> is the upstream model id; the
/// <see cref="FallbackRunner"/> fills it (and a custom model's system prompt) per attempt.
/// </summary>
public sealed record ModelRequest
{
    public string Model { get; init; } = "";

    public string? SystemPrompt { get; init; }

    public required IReadOnlyList<ModelMessage> Messages { get; init; }

    public IReadOnlyList<ToolDefinition> Tools { get; init; } = [];

    public double? Temperature { get; init; }

    public required int MaxTokens { get; init; }

    public bool EnableThinking { get; init; }

    /// <summary>The output budget every endpoint asks for: the client's max tokens, 4096 when it names none, never above the model's maximum.</summary>
    public static int OutputBudget(int? requested, Catalog.ModelEntry model) => Math.Min(requested ?? 4096, model.MaxOutputTokens);
}
