using Majestix.InferenceApi.Inference.Catalog;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Majestix.InferenceApi.Tests.Inference;

public sealed class ProvidersSetupTests
{
    private static readonly Uri Upstream = new("http://127.0.0.1:9");

    [Fact]
    public async Task CompleteConfigurationPassesStartupValidation()
    {
        await using var host = ProviderTestHost.Create(Upstream);

        Should.NotThrow(() => host.Services.GetRequiredService<IStartupValidator>().Validate());
    }

    [Theory]
    [InlineData("Providers:OpenAI:ApiKey", "", "ApiKey")]
    [InlineData("Providers:Anthropic:BaseUrl", "not a url", "Providers:Anthropic:BaseUrl must be an absolute http(s) URL")]
    [InlineData("Providers:Vertex:ProjectId", "", "ProjectId")]
    [InlineData("Providers:OpenRouter:RequestTimeoutSeconds", "0", "RequestTimeoutSeconds")]
    public async Task MissingOrInvalidProviderSettingsRefuseToStart(string key, string value, string expected)
    {
        await using var host = ProviderTestHost.Create(Upstream, overrides: new Dictionary<string, string?> { [key] = value });

        var exception = Should.Throw<OptionsValidationException>(() => host.Services.GetRequiredService<IStartupValidator>().Validate());

        exception.Message.ShouldContain(expected);
    }

    [Fact]
    public void InvalidCatalogRefusesToStartNamingTheProblem()
    {
        var path = Path.Combine(Path.GetTempPath(), $"models-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, """
            {"models":[{"key":"a","provider":"openai","upstream_model":"a","context_window":10,"max_output_tokens":5,
              "input_usd_per_million":1,"output_usd_per_million":1,"tier":"fast","fallbacks":["b"]}]}
            """);
        try
        {
            var exception = Should.Throw<CatalogValidationException>(() =>
                ProviderTestHost.Create(Upstream, overrides: new Dictionary<string, string?> { ["Providers:CatalogPath"] = path }));

            exception.Message.ShouldContain("model 'a' has unknown fallback 'b'");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
