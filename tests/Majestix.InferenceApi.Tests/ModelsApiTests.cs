using System.Text.Json;

namespace Majestix.InferenceApi.Tests;

[Collection(PlatformCollection.Name)]
public sealed class ModelsApiTests(PlatformFixture platform)
{
    private static readonly string[] FastTier = ["claude-haiku", "gpt-5-mini", "gemini-3-flash", "deepseek-v3.2"];

    [Fact]
    public async Task FreeUsersSeeTheFastTierOnly()
    {
        await using var app = new InferenceApiApplication(platform);
        var (_, apiKey) = await app.SeedKeyAsync("free-user");
        using var client = app.KeyClient(apiKey);

        using var body = JsonDocument.Parse(await client.GetStringAsync(new Uri("/models", UriKind.Relative)));

        body.RootElement.GetProperty("models").EnumerateArray().Select(m => m.GetProperty("key").GetString())
            .OrderBy(k => k).ShouldBe(FastTier.OrderBy(k => k));
    }

    [Fact]
    public async Task PaidUsersSeeEveryModelInTheClientsShape()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("pro-user", "pro");
        using var web = app.WebClient("pro-user");

        using var body = JsonDocument.Parse(await web.GetStringAsync(new Uri("/models", UriKind.Relative)));

        var models = body.RootElement.GetProperty("models").EnumerateArray().ToList();
        models.Select(m => m.GetProperty("key").GetString()).ShouldContain("claude-opus");
        models.Select(m => m.GetProperty("key").GetString()).ShouldContain("gpt-5.2");
        var custom = models.Single(m => m.GetProperty("key").GetString() == "cmo-agent");
        custom.GetProperty("is_custom").GetBoolean().ShouldBeTrue();
        foreach (var model in models)
        {
            model.EnumerateObject().Select(p => p.Name).OrderBy(n => n)
                .ShouldBe(["category", "context_window", "display_name", "is_custom", "key", "provider", "supports_tools"]);
            model.GetProperty("provider").GetString().ShouldBeOneOf("openai", "anthropic", "vertex", "openrouter");
            model.GetProperty("context_window").GetInt32().ShouldBeGreaterThan(0);
        }
    }
}
