using Microsoft.AspNetCore.Http;

namespace Majestix.MockUpstream.Behaviour;

internal sealed record ResolvedBehaviour(
    int LatencyMs,
    int TtftMs,
    double TokensPerSecond,
    int OutputTokens,
    int? Status,
    int? FailTimes,
    string? FailKey,
    int? CutAfterTokens,
    CutMode CutMode,
    string? ToolCall,
    bool? Thinking,
    int ThinkingTokens,
    int? RetryAfter,
    Dictionary<string, string> Explicit,
    string[] Sources)
{
    public const int DefaultOutputTokens = 16;
    public const int DefaultThinkingTokens = 12;

    public bool IsPaced => TtftMs > 0 || TokensPerSecond > 0;

    /// <summary>Merges the sources knob by knob, first set wins: headers, directive, runtime model, configured model, defaults.</summary>
    public static ResolvedBehaviour Resolve(IHeaderDictionary headers, string? lastUserText, string model, BehaviourStore store)
    {
        var merged = new MockBehaviour();
        var sources = new List<string>(4);

        var fromHeaders = FromHeaders(headers);
        Merge(merged, fromHeaders, "header", sources);
        Merge(merged, Directive.Parse(lastUserText), "directive", sources);
        Merge(merged, store.RuntimeFor(model), "model", sources);
        Merge(merged, store.ConfiguredFor(model), "config_model", sources);
        var explicitValues = merged.Values();
        Merge(merged, store.Defaults, "defaults", sources);

        return new ResolvedBehaviour(
            merged.LatencyMs ?? 0,
            merged.TtftMs ?? 0,
            merged.TokensPerSecond ?? 0,
            merged.OutputTokens ?? DefaultOutputTokens,
            merged.Status is 200 ? null : merged.Status,
            merged.FailTimes,
            merged.FailKey,
            merged.CutAfterTokens,
            merged.CutMode ?? CutMode.Abort,
            string.IsNullOrEmpty(merged.ToolCall) || merged.ToolCall is "false" or "none" ? null : merged.ToolCall,
            merged.Thinking,
            merged.ThinkingTokens ?? DefaultThinkingTokens,
            merged.RetryAfter,
            explicitValues,
            [.. sources]);
    }

    private static MockBehaviour? FromHeaders(IHeaderDictionary headers)
    {
        MockBehaviour? behaviour = null;
        foreach (var (name, value) in headers)
        {
            if (name.Length > 7 && name.StartsWith("X-Mock-", StringComparison.OrdinalIgnoreCase))
            {
                behaviour ??= new MockBehaviour();
                behaviour.Set(name[7..], value.ToString());
            }
        }
        return behaviour;
    }

    private static void Merge(MockBehaviour target, MockBehaviour? source, string name, List<string> sources)
    {
        if (source is null || source.IsEmpty)
        {
            return;
        }
        sources.Add(name);
        target.FillFrom(source);
    }
}
