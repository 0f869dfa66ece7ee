using Majestix.InferenceApi.Identity;
using Majestix.InferenceApi.Inference.Catalog;
using Majestix.InferenceApi.Inference.Providers;

namespace Majestix.InferenceApi.Tests.Inference;

public sealed class ModelRouterTests
{
    private static readonly ModelRouter Router = new(ModelCatalog.Load(Path.Combine(AppContext.BaseDirectory, "Inference", "Catalog", "models.json")));

    private static ToolDefinition Tool(string name) => new(name, null, Requests.WeatherSchema);

    [Fact]
    public void ShortQuestionIsSimpleAndGoesToTheFastTier()
    {
        var decision = Router.Choose(Requests.Prompt("What is the capital of France?"), Plan.Pro, requireTools: false);

        decision.Complexity.ShouldBe(TaskComplexity.Simple);
        decision.Score.ShouldBe(0);
        decision.Model.Key.ShouldBe("claude-haiku");
    }

    [Fact]
    public void CodeFenceWithAToolIsModerateAndPrefersACodeModel()
    {
        var request = Requests.Prompt("Why does this fail?\n```csharp\nvar x = null;\n```", tools: [Tool("read_file")]);

        var decision = Router.Choose(request, Plan.Pro, requireTools: true);

        decision.Score.ShouldBe(2);
        decision.Reasons.ShouldBe(["tools offered", "code fence"]);
        decision.Complexity.ShouldBe(TaskComplexity.Moderate);
        decision.Model.Key.ShouldBe("claude-sonnet");
    }

    [Fact]
    public void DeepWorkKeywordWithCodeAndToolsIsComplexAndPrefersAReasoningModel()
    {
        var request = Requests.Prompt("Refactor the architecture of this module:\n```\nclass A {}\n```", tools: [Tool("read_file")]);

        var decision = Router.Choose(request, Plan.Pro, requireTools: true);

        decision.Score.ShouldBe(4);
        decision.Reasons.ShouldContain("keyword 'refactor'");
        decision.Complexity.ShouldBe(TaskComplexity.Complex);
        decision.Model.Key.ShouldBe("claude-opus");
    }

    [Fact]
    public void VeryLongPromptAndManyToolsAreComplex()
    {
        var request = Requests.Prompt(new string('x', 8_001), tools: [Tool("a"), Tool("b"), Tool("c"), Tool("d"), Tool("e")]);

        var decision = Router.Choose(request, Plan.Guru, requireTools: true);

        decision.Score.ShouldBe(4);
        decision.Reasons.ShouldBe(["prompt over 8000 characters", "5 tools"]);
        decision.Model.Tier.ShouldBe(ModelTier.Premium);
    }

    [Fact]
    public void LongPromptAloneIsStillSimple()
    {
        var decision = Router.Choose(Requests.Prompt(new string('x', 2_001)), Plan.Pro, requireTools: false);

        decision.Score.ShouldBe(1);
        decision.Model.Tier.ShouldBe(ModelTier.Fast);
    }

    [Fact]
    public void FreePlanStaysInTheFastTierHoweverComplex()
    {
        var request = Requests.Prompt("Prove this algorithm is correct and refactor it:\n```\nsort(xs)\n```", tools: [Tool("run")]);

        var decision = Router.Choose(request, Plan.Free, requireTools: true);

        decision.Complexity.ShouldBe(TaskComplexity.Complex);
        decision.Model.Tier.ShouldBe(ModelTier.Fast);
        decision.Model.Key.ShouldBe("claude-haiku");
    }

    [Fact]
    public void ToolsRequiredSkipModelsWithoutTools()
    {
        var catalog = ModelCatalog.Parse("""
            {"models":[
              {"key":"plain","provider":"openai","upstream_model":"p","context_window":1000,"max_output_tokens":100,"supports_tools":false,
               "input_usd_per_million":1,"output_usd_per_million":1,"tier":"fast"},
              {"key":"tooled","provider":"openai","upstream_model":"t","context_window":1000,"max_output_tokens":100,"supports_tools":true,
               "input_usd_per_million":1,"output_usd_per_million":1,"tier":"fast"}
            ]}
            """);
        var router = new ModelRouter(catalog);

        router.Choose(Requests.Prompt("hi"), Plan.Free, requireTools: false).Model.Key.ShouldBe("plain");
        router.Choose(Requests.Prompt("hi"), Plan.Free, requireTools: true).Model.Key.ShouldBe("tooled");
    }
}
