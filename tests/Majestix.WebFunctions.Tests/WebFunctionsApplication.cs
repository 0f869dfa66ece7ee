using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Majestix.WebFunctions.Tests;

/// <summary>The web-functions host as the tests see it; each test gets its own instance.</summary>
public sealed class WebFunctionsApplication : WebApplicationFactory<Program>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder) => builder.UseEnvironment("Testing");
}
