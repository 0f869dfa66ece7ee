using Majestix.GoogleCloud.PubSub;
using Majestix.InferenceApi.Identity;
using Majestix.InferenceApi.UsageEvents;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Majestix.InferenceApi.Tests.UsageEvents;

internal static class UsageTestExtensions
{
    public const string Subscription = "usage-events-tests";

    public const string ServiceAccount = TestIdentityIssuer.ExecutorAccount;

    public static readonly CallerContext WebCaller = new(CallerSource.Web, "uid-web-Zq81xHn", Plan.Pro);

    public static readonly CallerContext KeyCaller = new(CallerSource.ApiKey, "uid-key-Pw02kLm", Plan.Guru, KeyId: "key_4f1c2a9e0b7d3c5a6e8f");

    public static readonly CallerContext AgentCaller = new(CallerSource.Agent, null, Plan.Free, ServiceAccount: ServiceAccount);

    public const string AgentBilledUser = "uid-agent-Rt55sDv";

    public static UsageLog UsageLog(this WebApplicationFactory<Program> app) => app.Services.GetRequiredService<UsageLog>();

    /// <summary>A typical finished call; tests override what they are about.</summary>
    public static ModelCallUsage Call(CallerContext caller, UsageOutcome? outcome = null) => new()
    {
        Caller = caller,
        Endpoint = "/code",
        Model = "claude-sonnet",
        Provider = "anthropic",
        InputTokens = 1_234,
        OutputTokens = 567,
        CreditUnits = 12_345_678,
        Latency = TimeSpan.FromMilliseconds(1_850.6),
        TimeToFirstToken = TimeSpan.FromMilliseconds(310.2),
        Routed = false,
        FallbackFrom = null,
        Streamed = true,
        Outcome = outcome ?? UsageOutcome.Ok,
        BilledUserId = caller.Source == CallerSource.Agent ? AgentBilledUser : null,
    };

    /// <summary>Creates <paramref name="topic"/> and a pull subscription on it; call before the app publishes.</summary>
    public static async Task CreateUsageSubscriptionAsync(this WebApplicationFactory<Program> app, string topic = "usage-events")
    {
        var pubSub = app.Services.GetRequiredService<PubSubClient>();
        await pubSub.CreateTopicAsync(topic);
        await pubSub.CreatePullSubscriptionAsync(Subscription, topic);
    }

    /// <summary>Flushes the publisher and pulls every usage message published so far.</summary>
    public static async Task<List<PubSubReceivedMessage>> PullUsageMessagesAsync(this WebApplicationFactory<Program> app)
    {
        await app.Services.GetRequiredService<PubSubPublisher>().FlushAsync();
        var pubSub = app.Services.GetRequiredService<PubSubClient>();
        var received = new List<PubSubReceivedMessage>();
        // The emulator holds an empty pull open; a short deadline per pull ends the drain.
        while (true)
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            IReadOnlyList<PubSubReceivedMessage> messages;
            try
            {
                messages = await pubSub.PullAsync(Subscription, 1000, deadline.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            if (messages.Count == 0)
            {
                break;
            }
            received.AddRange(messages);
            await pubSub.AcknowledgeAsync(Subscription, messages.Select(m => m.AckId));
        }
        return received;
    }
}
