using System.Text.Json;
using Majestix.InferenceApi.Identity;

namespace Majestix.InferenceApi.Inference.Catalog;

public sealed class CatalogValidationException(string message) : Exception(message);

/// <summary>
/// The models the gateway offers, loaded once at startup from <c>models.json</c>. Loading refuses a
/// catalog with duplicate keys, unknown or custom fallback keys, fallback cycles, custom models on an
/// unknown or custom base, or non-positive prices, naming every problem found.
/// </summary>
public sealed class ModelCatalog
{
    private readonly Dictionary<string, ModelEntry> _byKey;
    private readonly Dictionary<string, Plan[]> _plansByKey;

    private ModelCatalog(IReadOnlyList<ModelEntry> models)
    {
        All = models;
        _byKey = models.ToDictionary(model => model.Key, StringComparer.Ordinal);
        _plansByKey = models.ToDictionary(model => model.Key, model => Enum.GetValues<Plan>().Where(plan => IsAllowed(model, plan)).ToArray(), StringComparer.Ordinal);
    }

    public IReadOnlyList<ModelEntry> All { get; }

    public static ModelCatalog Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new CatalogValidationException($"Model catalog not found at '{path}'.");
        }
        return Parse(File.ReadAllText(path));
    }

    public static ModelCatalog Parse(string json)
    {
        CatalogFile? file;
        try
        {
            file = JsonSerializer.Deserialize(json, CatalogJson.Default.CatalogFile);
        }
        catch (JsonException exception)
        {
            throw new CatalogValidationException($"Model catalog is not valid JSON: {exception.Message}");
        }
        if (file?.Models is not { Count: > 0 } models)
        {
            throw new CatalogValidationException("Model catalog has no models.");
        }

        var problems = new List<string>();
        var entries = Resolve(models, problems);
        CheckFallbacks(entries, problems);
        if (problems.Count > 0)
        {
            throw new CatalogValidationException("Model catalog is invalid: " + string.Join("; ", problems));
        }
        return new ModelCatalog(entries);
    }

    public ModelEntry? Find(string key) => _byKey.GetValueOrDefault(key);

    /// <summary>Free sees the fast tier only; paid plans see every enabled model.</summary>
    public static bool IsAllowed(ModelEntry model, Plan plan) =>
        model.Enabled && (plan != Plan.Free || model.Tier == ModelTier.Fast);

    /// <summary>The plans that may use <paramref name="model"/> (computed once, at load).</summary>
    public IReadOnlyList<Plan> PlansAllowed(ModelEntry model) => _plansByKey[model.Key];

    public IReadOnlyList<ModelEntry> AllowedFor(Plan plan) => [.. All.Where(model => IsAllowed(model, plan))];

    /// <summary>The primary's fallbacks in catalog order, keeping only enabled models the plan allows.</summary>
    public IReadOnlyList<ModelEntry> FallbacksFor(string key, Plan plan)
    {
        if (Find(key) is not { } primary)
        {
            return [];
        }
        return [.. primary.Fallbacks
            .Where(fallback => fallback != key)
            .Select(fallback => _byKey[fallback])
            .Where(model => IsAllowed(model, plan))];
    }

    private static List<ModelEntry> Resolve(IReadOnlyList<CatalogFileModel> models, List<string> problems)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var byKey = new Dictionary<string, CatalogFileModel>(StringComparer.Ordinal);
        foreach (var model in models)
        {
            if (string.IsNullOrWhiteSpace(model.Key))
            {
                problems.Add("a model has no key");
            }
            else if (!seen.Add(model.Key))
            {
                problems.Add($"duplicate key '{model.Key}'");
            }
            else
            {
                byKey[model.Key] = model;
            }
        }

        var entries = new List<ModelEntry>();
        foreach (var model in byKey.Values)
        {
            var definition = model;
            if (model.BaseModel is { } baseKey)
            {
                if (!byKey.TryGetValue(baseKey, out var baseModel))
                {
                    problems.Add($"custom model '{model.Key}' has unknown base model '{baseKey}'");
                    continue;
                }
                if (baseModel.BaseModel is not null)
                {
                    problems.Add($"custom model '{model.Key}' has custom base model '{baseKey}'; a base must be a provider model");
                    continue;
                }
                if (model.Provider is not null || model.UpstreamModel is not null)
                {
                    problems.Add($"custom model '{model.Key}' sets provider or upstream_model; both come from its base model");
                    continue;
                }
                if (string.IsNullOrWhiteSpace(model.SystemPrompt))
                {
                    problems.Add($"custom model '{model.Key}' has no system_prompt");
                }
                definition = InheritFromBase(model, baseModel);
            }
            if (ToEntry(definition, problems) is { } entry)
            {
                entries.Add(entry);
            }
        }
        return entries;
    }

    private static CatalogFileModel InheritFromBase(CatalogFileModel custom, CatalogFileModel baseModel) => custom with
    {
        Provider = baseModel.Provider,
        UpstreamModel = baseModel.UpstreamModel,
        ContextWindow = custom.ContextWindow ?? baseModel.ContextWindow,
        MaxOutputTokens = custom.MaxOutputTokens ?? baseModel.MaxOutputTokens,
        SupportsTools = custom.SupportsTools ?? baseModel.SupportsTools,
        SupportsThinking = custom.SupportsThinking ?? baseModel.SupportsThinking,
        InputUsdPerMillion = custom.InputUsdPerMillion ?? baseModel.InputUsdPerMillion,
        OutputUsdPerMillion = custom.OutputUsdPerMillion ?? baseModel.OutputUsdPerMillion,
    };

    private static ModelEntry? ToEntry(CatalogFileModel model, List<string> problems)
    {
        var key = model.Key!;
        var before = problems.Count;
        var provider = model.Provider switch
        {
            "openai" => ModelProvider.OpenAI,
            "anthropic" => ModelProvider.Anthropic,
            "vertex" => ModelProvider.Vertex,
            "openrouter" => ModelProvider.OpenRouter,
            _ => Problem<ModelProvider>(problems, $"model '{key}' has unknown provider '{model.Provider}' (openai|anthropic|vertex|openrouter)"),
        };
        var tier = model.Tier switch
        {
            "fast" => ModelTier.Fast,
            "standard" => ModelTier.Standard,
            "premium" => ModelTier.Premium,
            "custom" => ModelTier.Custom,
            _ => Problem<ModelTier>(problems, $"model '{key}' has unknown tier '{model.Tier}' (fast|standard|premium|custom)"),
        };
        if ((tier == ModelTier.Custom) != (model.BaseModel is not null))
        {
            problems.Add($"model '{key}': tier 'custom' is for models with a base_model, and only for them");
        }
        if (string.IsNullOrWhiteSpace(model.UpstreamModel))
        {
            problems.Add($"model '{key}' has no upstream_model");
        }
        if (model.InputUsdPerMillion is not > 0 || model.OutputUsdPerMillion is not > 0)
        {
            problems.Add($"model '{key}' needs positive input_usd_per_million and output_usd_per_million");
        }
        if (model.ContextWindow is not > 0 || model.MaxOutputTokens is not > 0 || model.MaxOutputTokens > model.ContextWindow)
        {
            problems.Add($"model '{key}' needs a positive context_window and max_output_tokens no larger than it");
        }
        if (problems.Count > before)
        {
            return null;
        }
        return new ModelEntry(
            key,
            string.IsNullOrWhiteSpace(model.DisplayName) ? key : model.DisplayName,
            provider,
            model.UpstreamModel!,
            model.Category ?? "chat",
            model.ContextWindow!.Value,
            model.MaxOutputTokens!.Value,
            model.SupportsTools ?? false,
            model.SupportsThinking ?? false,
            model.InputUsdPerMillion!.Value,
            model.OutputUsdPerMillion!.Value,
            tier,
            model.Fallbacks ?? [],
            model.Enabled ?? true,
            model.BaseModel,
            model.SystemPrompt);
    }

    private static void CheckFallbacks(List<ModelEntry> entries, List<string> problems)
    {
        var byKey = entries.ToDictionary(entry => entry.Key, StringComparer.Ordinal);
        var edgesValid = true;
        foreach (var entry in entries)
        {
            foreach (var fallback in entry.Fallbacks)
            {
                if (!byKey.TryGetValue(fallback, out var target))
                {
                    problems.Add($"model '{entry.Key}' has unknown fallback '{fallback}'");
                    edgesValid = false;
                }
                else if (target.IsCustom)
                {
                    // A fallback must keep the caller's instructions; a custom model would swap in another persona.
                    problems.Add($"model '{entry.Key}' falls back to custom model '{fallback}'");
                }
            }
        }
        if (edgesValid && FindCycle(byKey) is { } cycle)
        {
            problems.Add($"fallback cycle {string.Join(" -> ", cycle)}");
        }
    }

    private static List<string>? FindCycle(Dictionary<string, ModelEntry> byKey)
    {
        var finished = new HashSet<string>(StringComparer.Ordinal);
        var path = new List<string>();

        List<string>? Visit(string key)
        {
            if (path.IndexOf(key) is var start and >= 0)
            {
                return [.. path.Skip(start), key];
            }
            if (finished.Contains(key))
            {
                return null;
            }
            path.Add(key);
            foreach (var next in byKey[key].Fallbacks)
            {
                if (Visit(next) is { } cycle)
                {
                    return cycle;
                }
            }
            path.RemoveAt(path.Count - 1);
            finished.Add(key);
            return null;
        }

        return byKey.Keys.Order(StringComparer.Ordinal).Select(Visit).FirstOrDefault(cycle => cycle is not null);
    }

    private static T Problem<T>(List<string> problems, string problem)
    {
        problems.Add(problem);
        return default!;
    }
}
