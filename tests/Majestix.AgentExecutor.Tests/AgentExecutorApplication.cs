using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Majestix.AgentExecutor.Tests;

/// <summary>The agent-executor host as the tests see it; each test gets its own instance.</summary>
public sealed class AgentExecutorApplication : WebApplicationFactory<Program>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder) => builder.UseEnvironment("Testing");
}
