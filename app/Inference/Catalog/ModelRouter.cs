using System.Text.RegularExpressions;
using Majestix.InferenceApi.Identity;
using Majestix.InferenceApi.Inference.Providers;

namespace Majestix.InferenceApi.Inference.Catalog;

public enum TaskComplexity
{
    Simple,
    Moderate,
    Complex,
}

/// <summary>Why auto-routing chose <paramref name="Model"/>; <paramref name="Reasons"/> lists every point scored.</summary>
public sealed record RoutingDecision(ModelEntry Model, TaskComplexity Complexity, int Score, IReadOnlyList<string> Reasons);

/// <summary>
/// Auto-routing for requests without a model. The rule, in full:
/// <list type="bullet">
/// <item>score +1 when the request text (system prompt, text blocks, tool results) exceeds 2,000 characters, +2 above 8,000;</item>
/// <item>+1 when tools are offered, +2 with five or more;</item>
/// <item>+1 when the last user message contains a code fence (```);</item>
/// <item>+2 when the last user message asks for deep work: refactor, architecture, prove/proof, algorithm, optimize, concurrency, migrate.</item>
/// </list>
/// Score 0–1 is simple (fast tier), 2–3 moderate (standard tier), 4+ complex (premium tier). Among the
/// plan's enabled, non-custom models (tool-capable when tools are offered or required) the router takes
/// the wanted tier, else the nearest tier below it, else the nearest above; within a tier it prefers the
/// category the request looks like (code for fences or tools, reasoning for deep-work keywords), then
/// catalog order. Deterministic: the same request and plan always get the same model.
/// </summary>
public sealed partial class ModelRouter(ModelCatalog catalog)
{
    private const int LongPromptCharacters = 2_000;
    private const int VeryLongPromptCharacters = 8_000;
    private const int ManyTools = 5;

    public RoutingDecision Choose(ModelRequest request, Plan plan, bool requireTools)
    {
        var reasons = new List<string>();
        var score = 0;
        var length = TextLength(request);
        if (length > VeryLongPromptCharacters)
        {
            score += 2;
            reasons.Add($"prompt over {VeryLongPromptCharacters} characters");
        }
        else if (length > LongPromptCharacters)
        {
            score += 1;
            reasons.Add($"prompt over {LongPromptCharacters} characters");
        }
        if (request.Tools.Count >= ManyTools)
        {
            score += 2;
            reasons.Add($"{request.Tools.Count} tools");
        }
        else if (request.Tools.Count > 0)
        {
            score += 1;
            reasons.Add("tools offered");
        }
        var lastUserText = LastUserText(request);
        var hasCode = lastUserText.Contains("```", StringComparison.Ordinal);
        if (hasCode)
        {
            score += 1;
            reasons.Add("code fence");
        }
        var deepWork = DeepWorkKeywords().Match(lastUserText);
        if (deepWork.Success)
        {
            score += 2;
            reasons.Add($"keyword '{deepWork.Value.ToLowerInvariant()}'");
        }

        var complexity = score switch
        {
            <= 1 => TaskComplexity.Simple,
            <= 3 => TaskComplexity.Moderate,
            _ => TaskComplexity.Complex,
        };
        var preferredCategory = deepWork.Success ? "reasoning" : hasCode || request.Tools.Count > 0 ? "code" : null;
        var needsTools = requireTools || request.Tools.Count > 0;
        var candidates = catalog.AllowedFor(plan).Where(model => !model.IsCustom && (!needsTools || model.SupportsTools)).ToList();
        var wanted = complexity switch
        {
            TaskComplexity.Simple => ModelTier.Fast,
            TaskComplexity.Moderate => ModelTier.Standard,
            _ => ModelTier.Premium,
        };
        ModelTier[] tierOrder = wanted switch
        {
            ModelTier.Fast => [ModelTier.Fast, ModelTier.Standard, ModelTier.Premium],
            ModelTier.Standard => [ModelTier.Standard, ModelTier.Fast, ModelTier.Premium],
            _ => [ModelTier.Premium, ModelTier.Standard, ModelTier.Fast],
        };
        foreach (var tier in tierOrder)
        {
            var inTier = candidates.Where(model => model.Tier == tier).ToList();
            if (inTier.Count > 0)
            {
                var model = inTier.FirstOrDefault(model => model.Category == preferredCategory) ?? inTier[0];
                return new RoutingDecision(model, complexity, score, reasons);
            }
        }
        throw new InvalidOperationException($"No enabled model is available to plan {plan} for auto-routing.");
    }

    private static int TextLength(ModelRequest request) =>
        (request.SystemPrompt?.Length ?? 0) + request.Messages.Sum(message => message.Content.Sum(block => block switch
        {
            TextBlock text => text.Text.Length,
            ToolResultBlock result => result.Content.Length,
            _ => 0,
        }));

    private static string LastUserText(ModelRequest request) =>
        request.Messages.LastOrDefault(message => message.Role == MessageRole.User) is { } last
            ? string.Join('\n', last.Content.OfType<TextBlock>().Select(text => text.Text))
            : "";

    [GeneratedRegex(@"\b(refactor\w*|architect\w*|prove|proof|algorithm\w*|optimi[sz]\w*|concurren\w*|migrat\w*)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex DeepWorkKeywords();
}
