using System.Globalization;
using Majestix.MockUpstream.Behaviour;

namespace Majestix.MockUpstream.Generation;

internal enum FinishKind
{
    Stop,
    Length,
    ToolCall,
}

internal sealed record ToolCallPlan(string Id, string Name, string Arguments, string[] Fragments, int[] Cumulative)
{
    public int Tokens => Cumulative.Length == 0 ? 0 : Cumulative[^1];

    public int FragmentTokens(int i) => Math.Max(0, Cumulative[i] - (i == 0 ? 0 : Cumulative[i - 1]));
}

// Everything a response will contain, decided before the first byte is written, so the
// non-streaming and streaming writers (and the request log) agree by construction.
internal sealed class CompletionPlan
{
    private static long _sequence;

    private CompletionPlan(string id)
    {
        Id = id;
    }

    public string Id { get; }

    public long Created { get; } = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    public int InputTokens { get; private init; }

    public int[] ThinkingWords { get; private init; } = [];

    public string Signature { get; private init; } = "";

    public int[] TextWords { get; private init; } = [];

    public ToolCallPlan? ToolCall { get; private init; }

    public FinishKind Finish { get; private init; }

    public int OutputTokens => ThinkingWords.Length + TextWords.Length + (ToolCall?.Tokens ?? 0);

    public static CompletionPlan Create(ChatRequest request, ResolvedBehaviour behaviour, string idPrefix, string toolIdPrefix)
    {
        var random = new SplitMix64(request.Seed);
        var number = Interlocked.Increment(ref _sequence);
        var id = string.Create(CultureInfo.InvariantCulture, $"{idPrefix}{number:x8}{request.Seed:x16}");
        var maxTokens = request.MaxTokens is > 0 and var max ? max : int.MaxValue;

        var thinking = behaviour.Thinking ?? request.ThinkingRequested;
        var wantedThinking = thinking ? Math.Min(behaviour.ThinkingTokens, request.ThinkingBudget ?? int.MaxValue) : 0;
        var thinkingWords = Words(ref random, Math.Min(wantedThinking, maxTokens));
        var budget = maxTokens - thinkingWords.Length;
        var truncated = thinkingWords.Length < wantedThinking;
        var signature = thinking ? MakeSignature(ref random) : "";

        ToolCallPlan? toolCall = null;
        if (!truncated && ChooseTool(request, behaviour) is { } tool)
        {
            var arguments = ToolArguments.Generate(tool.Schema, ref random);
            var (fragments, cumulative) = TokenCounter.Fragment(arguments);
            var plan = new ToolCallPlan(
                string.Create(CultureInfo.InvariantCulture, $"{toolIdPrefix}{number:x8}{random.Next():x16}"),
                tool.Name, arguments, fragments, cumulative);
            // Arguments are atomic: a call that does not fit max_tokens becomes truncated text.
            if (plan.Tokens <= budget)
            {
                toolCall = plan;
            }
            else
            {
                truncated = true;
            }
        }

        var textWords = toolCall is null ? Words(ref random, Math.Min(behaviour.OutputTokens, budget)) : [];
        if (toolCall is null && textWords.Length < behaviour.OutputTokens)
        {
            truncated = true;
        }

        return new CompletionPlan(id)
        {
            InputTokens = request.InputTokens,
            ThinkingWords = thinkingWords,
            Signature = signature,
            TextWords = textWords,
            ToolCall = toolCall,
            Finish = truncated ? FinishKind.Length : toolCall is not null ? FinishKind.ToolCall : FinishKind.Stop,
        };
    }

    /// <summary>Output tokens a stream cut after <paramref name="cut"/> tokens will have sent.</summary>
    public int TokensBeforeCut(int cut)
    {
        var emitted = Math.Min(cut, ThinkingWords.Length + TextWords.Length);
        if (ToolCall is { } tool && emitted == ThinkingWords.Length + TextWords.Length)
        {
            for (var i = 0; i < tool.Fragments.Length && emitted + tool.FragmentTokens(i) <= cut; i++)
            {
                emitted += tool.FragmentTokens(i);
            }
        }
        return emitted;
    }

    public string Text => string.Concat(TextWords.Select(w => " " + Vocabulary.Words[w]));

    public string Thinking => string.Concat(ThinkingWords.Select(w => " " + Vocabulary.Words[w]));

    private static ToolDefinition? ChooseTool(ChatRequest request, ResolvedBehaviour behaviour)
    {
        var name = behaviour.ToolCall ?? request.ForcedTool;
        if (name is null)
        {
            return null;
        }
        if (name is ChatRequest.AnyTool or "true" or "auto" or "first")
        {
            return request.Tools.Count > 0 ? request.Tools[0] : null;
        }
        return request.Tools.FirstOrDefault(t => t.Name == name) ?? new ToolDefinition(name, null);
    }

    private static int[] Words(ref SplitMix64 random, int count)
    {
        var words = new int[Math.Max(0, count)];
        for (var i = 0; i < words.Length; i++)
        {
            words[i] = random.Next(Vocabulary.Words.Length);
        }
        return words;
    }

    private static string MakeSignature(ref SplitMix64 random)
    {
        Span<byte> bytes = stackalloc byte[48];
        for (var i = 0; i < bytes.Length; i += 8)
        {
            BitConverter.TryWriteBytes(bytes[i..], random.Next());
        }
        return Convert.ToBase64String(bytes);
    }
}
