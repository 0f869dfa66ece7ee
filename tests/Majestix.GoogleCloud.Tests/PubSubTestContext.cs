using Majestix.GoogleCloud.PubSub;
using Majestix.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Majestix.GoogleCloud.Tests;

/// <summary>A fresh project with one topic and one pull subscription on the shared emulator.</summary>
internal sealed class PubSubTestContext : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private PubSubTestContext(ServiceProvider services, string topicId, string subscriptionId)
    {
        _services = services;
        TopicId = topicId;
        SubscriptionId = subscriptionId;
        Client = services.GetRequiredService<PubSubClient>();
        Publisher = services.GetRequiredService<PubSubPublisher>();
    }

    public string TopicId { get; }

    public string SubscriptionId { get; }

    public PubSubClient Client { get; }

    public PubSubPublisher Publisher { get; }

    public IServiceProvider Services => _services;

    public static async Task<PubSubTestContext> CreateAsync(
        PubSubEmulatorFixture emulator,
        Action<PubSubOptions>? configure = null,
        Func<DelegatingHandler>? extraHandler = null,
        ILoggerProvider? logs = null)
    {
        var projectId = TestIsolation.NewProjectId("ps");
        var services = new ServiceCollection();
        services.AddLogging(logging =>
        {
            if (logs is not null)
            {
                logging.AddProvider(logs);
            }
        });
        var http = services.AddPubSub(options =>
        {
            options.ProjectId = projectId;
            options.EmulatorHost = emulator.EmulatorHost;
            configure?.Invoke(options);
        });
        if (extraHandler is not null)
        {
            http.AddHttpMessageHandler(extraHandler);
        }

        var context = new PubSubTestContext(services.BuildServiceProvider(validateScopes: true), TestIsolation.NewId("topic"), TestIsolation.NewId("sub"));
        await context.Client.CreateTopicAsync(context.TopicId);
        await context.Client.CreatePullSubscriptionAsync(context.SubscriptionId, context.TopicId);
        return context;
    }

    /// <summary>Pulls and acknowledges until <paramref name="expected"/> messages arrived or the timeout passes.</summary>
    public async Task<List<PubSubReceivedMessage>> PullAndAcknowledgeAsync(int expected, TimeSpan timeout)
    {
        var received = new List<PubSubReceivedMessage>();
        using var deadline = new CancellationTokenSource(timeout);
        while (received.Count < expected && !deadline.IsCancellationRequested)
        {
            var batch = await Client.PullAsync(SubscriptionId, 1000, deadline.Token);
            await Client.AcknowledgeAsync(SubscriptionId, batch.Select(m => m.AckId), deadline.Token);
            received.AddRange(batch);
        }

        return received;
    }

    public async ValueTask DisposeAsync() => await _services.DisposeAsync();
}
