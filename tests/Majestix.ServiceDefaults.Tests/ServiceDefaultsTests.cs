using System.Net;
using Majestix.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Options;

namespace Majestix.ServiceDefaults.Tests;

public sealed class ServiceDefaultsTests
{
    [Fact]
    public async Task HealthAnswersOkWithTheServiceName()
    {
        await using var app = await StartAsync("test-service");

        var response = await app.GetTestClient().GetAsync(new Uri("/health", UriKind.Relative));

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await response.Content.ReadAsStringAsync()).ShouldBe("""{"status":"ok","service":"test-service"}""");
    }

    [Fact]
    public async Task WellFormedRequestIdIsEchoedAndVisibleToHandlers()
    {
        await using var app = await StartAsync("test-service");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/echo-id");
        request.Headers.Add("X-Request-Id", "client-42");

        var response = await app.GetTestClient().SendAsync(request);

        response.Headers.GetValues("X-Request-Id").ShouldBe(["client-42"]);
        (await response.Content.ReadAsStringAsync()).ShouldBe("client-42");
    }

    [Theory]
    [InlineData("has space")]
    [InlineData("<script>")]
    [InlineData("0123456789012345678901234567890123456789012345678901234567890123456789")]
    public async Task MalformedRequestIdIsReplaced(string supplied)
    {
        await using var app = await StartAsync("test-service");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/echo-id");
        request.Headers.TryAddWithoutValidation("X-Request-Id", supplied);

        var response = await app.GetTestClient().SendAsync(request);

        var issued = response.Headers.GetValues("X-Request-Id").Single();
        issued.ShouldNotBe(supplied);
        issued.Length.ShouldBe(32);
    }

    [Fact]
    public async Task InvalidServiceNameFailsAtStartup()
    {
        var exception = await Should.ThrowAsync<OptionsValidationException>(() => StartAsync("Not A Valid Name"));

        exception.Message.ShouldContain("ServiceName");
    }

    private static async Task<WebApplication> StartAsync(string serviceName)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.WebHost.UseTestServer();
        builder.AddServiceDefaults(serviceName);
        var app = builder.Build();
        app.UseServiceDefaults();
        app.MapDefaultEndpoints();
        app.MapGet("/echo-id", (HttpContext context) => context.TraceIdentifier);
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
        return app;
    }
}
