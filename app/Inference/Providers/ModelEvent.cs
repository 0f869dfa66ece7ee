namespace Majestix.InferenceApi.Inference.Providers;

public enum FinishReason
{
    Stop,
    MaxTokens,
    ToolUse,
    ContentFilter,
    Other,
}

public enum UsageSource
{
    /// <summary>The provider reported the numbers.</summary>
    Provider,

    /// <summary>The stream ended without usage; counted with o200k over what was sent and received.</summary>
    Counted,
}

/// <summary>The normalized stream every provider produces.</summary>
public abstract record ModelEvent
{
    /// <summary>True for events that carry model output to the caller; after the first one there is no fallback.</summary>
    public virtual bool IsOutput => false;
}

public sealed record TextDelta(string Text) : ModelEvent
{
    public override bool IsOutput => true;
}

public sealed record ThinkingDelta(string Text) : ModelEvent
{
    public override bool IsOutput => true;
}

public sealed record ThinkingDone : ModelEvent
{
    public override bool IsOutput => true;
}

public sealed record ToolUse(string Id, string Name, string InputJson) : ModelEvent
{
    public override bool IsOutput => true;
}

public sealed record Usage(int InputTokens, int OutputTokens, UsageSource Source = UsageSource.Provider) : ModelEvent;

public sealed record Completed(FinishReason FinishReason) : ModelEvent;

/// <summary>
/// Terminal: the upstream failed after output had been sent, so the runner did not switch models.
/// The <see cref="Usage"/> event before it says what was produced.
/// </summary>
public sealed record StreamFailed(ProviderFailureException Failure) : ModelEvent;
