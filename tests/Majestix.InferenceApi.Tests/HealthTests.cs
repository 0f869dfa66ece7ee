using System.Net;
using System.Text.Json;

namespace Majestix.InferenceApi.Tests;

[Collection(PlatformCollection.Name)]
public sealed class HealthTests(PlatformFixture platform)
{
    [Fact]
    public async Task HealthAnswersOkWithoutAuthentication()
    {
        await using var application = new InferenceApiApplication(platform);
        using var client = application.CreateClient();

        var response = await client.GetAsync(new Uri("/health", UriKind.Relative));

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        body.RootElement.GetProperty("status").GetString().ShouldBe("ok");
        body.RootElement.GetProperty("service").GetString().ShouldBe("inference-api");
    }
}
