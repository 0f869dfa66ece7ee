using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Majestix.InferenceApi.Tests;

/// <summary>The inference-api host as the tests see it; each test gets its own instance.</summary>
public sealed class InferenceApiApplication : WebApplicationFactory<Program>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder) => builder.UseEnvironment("Testing");
}
