using Majestix.InferenceApi.Identity;
using Majestix.InferenceApi.Inference.Catalog;

namespace Majestix.InferenceApi.Tests.Inference;

public sealed class ModelCatalogTests
{
    private static readonly string ShippedCatalog = Path.Combine(AppContext.BaseDirectory, "Inference", "Catalog", "models.json");

    private static string Model(string key, string tier = "fast", string fallbacks = "", string extra = "") => $$"""
        {"key":"{{key}}","display_name":"{{key}}","provider":"openai","upstream_model":"up-{{key}}","category":"chat",
         "context_window":1000,"max_output_tokens":100,"supports_tools":true,"supports_thinking":false,
         "input_usd_per_million":1.0,"output_usd_per_million":2.0,"tier":"{{tier}}","fallbacks":[{{fallbacks}}],"enabled":true{{extra}}}
        """;

    private static string Catalog(params string[] models) => $$"""{"models":[{{string.Join(",", models)}}]}""";

    [Fact]
    public void ShippedCatalogLoadsWithEveryModelTheFactsName()
    {
        var catalog = ModelCatalog.Load(ShippedCatalog);

        foreach (var key in new[] { "claude-haiku", "claude-sonnet", "claude-opus", "gpt-5-mini", "gpt-5.2", "gemini-3-flash", "deepseek-v3.2", "cmo-agent" })
        {
            catalog.Find(key).ShouldNotBeNull(key);
        }
        catalog.All.GroupBy(model => model.Provider).ShouldAllBe(group => group.Count() >= 2);
        var cmo = catalog.Find("cmo-agent")!;
        cmo.IsCustom.ShouldBeTrue();
        cmo.Provider.ShouldBe(ModelProvider.Anthropic);
        cmo.UpstreamModel.ShouldBe(catalog.Find("claude-sonnet")!.UpstreamModel);
        cmo.SystemPrompt.ShouldNotBeNullOrWhiteSpace();
    }

    [Fact]
    public void FreePlanSeesExactlyTheFastTier()
    {
        var catalog = ModelCatalog.Load(ShippedCatalog);

        catalog.AllowedFor(Plan.Free).Select(model => model.Key).Order()
            .ShouldBe(["claude-haiku", "deepseek-v3.2", "gemini-3-flash", "gpt-5-mini"]);
        catalog.AllowedFor(Plan.Guru).Count.ShouldBe(catalog.All.Count);
        catalog.AllowedFor(Plan.Pro).Count.ShouldBe(catalog.All.Count);
    }

    [Fact]
    public void DisabledModelsAreOfferedToNoPlanAndSkippedAsFallbacks()
    {
        var catalog = ModelCatalog.Parse(Catalog(
            Model("a", fallbacks: "\"b\",\"c\""),
            Model("b", extra: ",\"enabled\":false").Replace("\"enabled\":true,", "", StringComparison.Ordinal),
            Model("c")));

        catalog.AllowedFor(Plan.Pro).Select(model => model.Key).ShouldBe(["a", "c"]);
        catalog.FallbacksFor("a", Plan.Pro).Select(model => model.Key).ShouldBe(["c"]);
    }

    [Fact]
    public void FallbacksKeepCatalogOrderAndDropModelsOutsideThePlan()
    {
        var catalog = ModelCatalog.Load(ShippedCatalog);

        catalog.FallbacksFor("claude-sonnet", Plan.Pro).Select(model => model.Key).ShouldBe(["gpt-5", "gemini-3-pro", "claude-haiku"]);
        catalog.FallbacksFor("claude-sonnet", Plan.Free).Select(model => model.Key).ShouldBe(["claude-haiku"]);
        catalog.FallbacksFor("claude-haiku", Plan.Free).Select(model => model.Key).ShouldBe(["gpt-5-mini", "gemini-3-flash", "deepseek-v3.2"]);
        catalog.FallbacksFor("no-such-model", Plan.Pro).ShouldBeEmpty();
    }

    [Theory]
    [InlineData("unknown fallback 'ghost'", "\"ghost\"", "")]
    [InlineData("fallback cycle a -> b -> a", "\"b\"", "\"a\"")]
    [InlineData("fallback cycle a -> a", "\"a\"", "")]
    public void FallbackProblemsRefuseTheCatalog(string expected, string fallbacksOfA, string fallbacksOfB)
    {
        var exception = Should.Throw<CatalogValidationException>(() => ModelCatalog.Parse(Catalog(Model("a", fallbacks: fallbacksOfA), Model("b", fallbacks: fallbacksOfB))));

        exception.Message.ShouldContain(expected);
    }

    [Fact]
    public void DuplicateKeysRefuseTheCatalog()
    {
        var exception = Should.Throw<CatalogValidationException>(() => ModelCatalog.Parse(Catalog(Model("a"), Model("a"))));

        exception.Message.ShouldContain("duplicate key 'a'");
    }

    [Theory]
    [InlineData("\"input_usd_per_million\":1.0", "\"input_usd_per_million\":0")]
    [InlineData("\"output_usd_per_million\":2.0", "\"output_usd_per_million\":-2.0")]
    public void NonPositivePricesRefuseTheCatalog(string price, string badPrice)
    {
        var exception = Should.Throw<CatalogValidationException>(() => ModelCatalog.Parse(Catalog(Model("a").Replace(price, badPrice, StringComparison.Ordinal))));

        exception.Message.ShouldContain("model 'a' needs positive input_usd_per_million and output_usd_per_million");
    }

    [Fact]
    public void CustomModelOnAnUnknownBaseRefusesTheCatalog()
    {
        var exception = Should.Throw<CatalogValidationException>(() => ModelCatalog.Parse(Catalog(
            """{"key":"agent","base_model":"ghost","system_prompt":"Be useful.","tier":"custom"}""")));

        exception.Message.ShouldContain("custom model 'agent' has unknown base model 'ghost'");
    }

    [Fact]
    public void CustomModelOnACustomBaseRefusesTheCatalog()
    {
        var exception = Should.Throw<CatalogValidationException>(() => ModelCatalog.Parse(Catalog(
            Model("a"),
            """{"key":"agent","base_model":"a","system_prompt":"Be useful.","tier":"custom"}""",
            """{"key":"agent2","base_model":"agent","system_prompt":"Be useful.","tier":"custom"}""")));

        exception.Message.ShouldContain("custom model 'agent2' has custom base model 'agent'");
    }

    [Fact]
    public void CustomModelInheritsItsBaseAndKeepsItsPrompt()
    {
        var catalog = ModelCatalog.Parse(Catalog(Model("a"), """{"key":"agent","base_model":"a","system_prompt":"Be useful.","tier":"custom"}"""));

        var agent = catalog.Find("agent")!;
        agent.UpstreamModel.ShouldBe("up-a");
        agent.OutputUsdPerMillion.ShouldBe(2.0m);
        agent.SystemPrompt.ShouldBe("Be useful.");
        catalog.AllowedFor(Plan.Free).Select(model => model.Key).ShouldBe(["a"]);
        catalog.AllowedFor(Plan.Guru).Select(model => model.Key).ShouldBe(["a", "agent"]);
    }

    [Fact]
    public void FallbackToACustomModelRefusesTheCatalog()
    {
        var exception = Should.Throw<CatalogValidationException>(() => ModelCatalog.Parse(Catalog(
            Model("a", fallbacks: "\"agent\""),
            """{"key":"agent","base_model":"a","system_prompt":"Be useful.","tier":"custom"}""")));

        exception.Message.ShouldContain("model 'a' falls back to custom model 'agent'");
    }

    [Fact]
    public void UnknownProviderAndMissingFileNameTheProblem()
    {
        Should.Throw<CatalogValidationException>(() => ModelCatalog.Parse(Catalog(Model("a").Replace("\"openai\"", "\"azure\"", StringComparison.Ordinal))))
            .Message.ShouldContain("model 'a' has unknown provider 'azure'");
        Should.Throw<CatalogValidationException>(() => ModelCatalog.Load("/nonexistent/models.json"))
            .Message.ShouldContain("/nonexistent/models.json");
    }
}
