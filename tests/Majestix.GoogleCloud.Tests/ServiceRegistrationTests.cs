using System.Net;
using Majestix.GoogleCloud.Firestore;
using Majestix.GoogleCloud.PubSub;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Majestix.GoogleCloud.Tests;

public sealed class ServiceRegistrationTests
{
    [Fact]
    public async Task FirestoreOutsideTheEmulatorSendsAnAccessTokenToTheProductionEndpoint()
    {
        var tokens = new FixedTokenSource("token-123");
        var recorder = new RecordingHandler();
        var services = new ServiceCollection();
        services.AddSingleton<IGoogleAccessTokenSource>(tokens);
        services.AddFirestore(o =>
            {
                o.ProjectId = "prod-project";
                o.EmulatorHost = string.Empty;
            })
            .AddHttpMessageHandler(() => recorder)
            .ConfigurePrimaryHttpMessageHandler(() => new CannedResponseHandler(HttpStatusCode.OK, """{"name":"projects/prod-project/databases/(default)/documents/users/u1","fields":{}}"""));
        await using var provider = services.BuildServiceProvider();

        await provider.GetRequiredService<FirestoreClient>().GetAsync("users/u1");

        var request = recorder.Requests.ShouldHaveSingleItem();
        request.Authorization.ShouldBe("Bearer token-123");
        request.Uri.ShouldBe(new Uri("https://firestore.googleapis.com/v1/projects/prod-project/databases/(default)/documents/users/u1"));
        tokens.Calls.ShouldBe(1);
    }

    [Fact]
    public async Task PubSubAgainstTheEmulatorSendsNoCredentials()
    {
        var tokens = new FixedTokenSource("must-not-be-used");
        var recorder = new RecordingHandler();
        var services = new ServiceCollection();
        services.AddSingleton<IGoogleAccessTokenSource>(tokens);
        services.AddPubSub(o =>
            {
                o.ProjectId = "p1";
                o.EmulatorHost = "127.0.0.1:8085";
            })
            .AddHttpMessageHandler(() => recorder)
            .ConfigurePrimaryHttpMessageHandler(() => new CannedResponseHandler(HttpStatusCode.OK, """{"messageIds":["1"]}"""));
        await using var provider = services.BuildServiceProvider();

        await provider.GetRequiredService<PubSubClient>().PublishAsync("events", [PubSubMessage.FromString("x")]);

        var request = recorder.Requests.ShouldHaveSingleItem();
        request.Authorization.ShouldBeNull();
        request.Uri.ShouldBe(new Uri("http://127.0.0.1:8085/v1/projects/p1/topics/events:publish"));
        tokens.Calls.ShouldBe(0);
    }

    [Fact]
    public async Task FirestoreAgainstTheEmulatorActsAsTheAdminUser()
    {
        var recorder = new RecordingHandler();
        var services = new ServiceCollection();
        services.AddFirestore(o =>
            {
                o.ProjectId = "p1";
                o.EmulatorHost = "127.0.0.1:8080";
            })
            .AddHttpMessageHandler(() => recorder)
            .ConfigurePrimaryHttpMessageHandler(() => new CannedResponseHandler(HttpStatusCode.OK, "{}"));
        await using var provider = services.BuildServiceProvider();

        await provider.GetRequiredService<FirestoreClient>().DeleteAsync("users/u1");

        recorder.Requests.ShouldHaveSingleItem().Authorization.ShouldBe("Bearer owner");
    }

    [Fact]
    public async Task InvalidFirestoreOptionsFailAtStartup()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddFirestore(o => o.EmulatorHost = "not a host");
        using var host = builder.Build();

        var error = await Should.ThrowAsync<OptionsValidationException>(() => host.StartAsync());

        error.Failures.ShouldContain("Firestore:ProjectId is required.");
        error.Failures.ShouldContain(f => f.StartsWith("Firestore:EmulatorHost must be host:port", StringComparison.Ordinal));
    }

    [Fact]
    public async Task InvalidPubSubOptionsFailAtStartup()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddPubSub(o =>
        {
            o.ProjectId = "p1";
            o.MaxBatchMessages = 5000;
            o.DropReportInterval = TimeSpan.Zero;
        });
        using var host = builder.Build();

        var error = await Should.ThrowAsync<OptionsValidationException>(() => host.StartAsync());

        error.Failures.Count().ShouldBe(2);
        error.Failures.ShouldContain(failure => failure.StartsWith("PubSub:MaxBatchMessages must be 1", StringComparison.Ordinal));
        error.Failures.ShouldContain("PubSub:DropReportInterval must be positive.");
    }

    [Fact]
    public async Task EmulatorHostComesFromTheEnvironmentWhenNotConfigured()
    {
        // Runs in its own process-wide variable name space only for the duration of the resolve.
        var services = new ServiceCollection();
        services.AddPubSub(o => o.ProjectId = "p1");
        await using var provider = services.BuildServiceProvider();
        var previous = Environment.GetEnvironmentVariable(PubSubOptions.EmulatorHostVariable);
        Environment.SetEnvironmentVariable(PubSubOptions.EmulatorHostVariable, "127.0.0.1:9999");
        try
        {
            provider.GetRequiredService<IOptions<PubSubOptions>>().Value.EmulatorHost.ShouldBe("127.0.0.1:9999");
        }
        finally
        {
            Environment.SetEnvironmentVariable(PubSubOptions.EmulatorHostVariable, previous);
        }
    }

    [Fact]
    public void FieldPathsQuoteSegmentsThatAreNotIdentifiers()
    {
        FirestoreFieldPath.Of("limits", "rpm").ShouldBe("limits.rpm");
        FirestoreFieldPath.Of("a", "x-y", "b`c").ShouldBe("a.`x-y`.`b\\`c`");
        FirestoreFieldPath.Split("a.`x-y`.`b\\`c`").ShouldBe(["a", "x-y", "b`c"]);
    }
}
