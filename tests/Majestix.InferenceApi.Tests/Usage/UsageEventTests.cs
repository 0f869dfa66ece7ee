using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Majestix.GoogleCloud.PubSub;
using Majestix.InferenceApi.Identity;
using Majestix.InferenceApi.Inference.Providers;
using Majestix.InferenceApi.UsageEvents;
using Majestix.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using static Majestix.InferenceApi.Tests.UsageEvents.UsageTestExtensions;

namespace Majestix.InferenceApi.Tests.UsageEvents;

[Collection(PlatformCollection.Name)]
public sealed class UsageEventTests(PlatformFixture platform)
{
    private const string UsageSalt = "usage-test-salt-0123456789";
    private const string AuditSalt = "test-salt-0123456789abcdef"; // InferenceApiApplication's AUDIT_IP_HASH_SALT
    private static readonly BigQuerySchema Schema = BigQuerySchema.Load(Path.Combine(AppContext.BaseDirectory, "schemas", "usage_events.json"));

    [Fact]
    public async Task EveryCallerSourceAndOutcomeLandsOnTheUsageTopicAsARowTheTableAccepts()
    {
        await using var app = new InferenceApiApplication(platform, settings: new Dictionary<string, string?> { ["USAGE_USER_HASH_SALT"] = UsageSalt });
        await app.CreateUsageSubscriptionAsync();
        var outcomes = new[]
        {
            UsageOutcome.Ok,
            UsageOutcome.ProviderFailed(new ProviderFailureException(ProviderFailureKind.StreamCut, "openai", null)),
            UsageOutcome.Cancelled,
            UsageOutcome.ProviderFailed(new ProviderFailureException(ProviderFailureKind.Timeout, "openai", null)),
        };
        var calls = new[] { WebCaller, KeyCaller, AgentCaller }
            .SelectMany(caller => outcomes.Select(outcome => Call(caller, outcome) with { Model = "gpt-5", Provider = "openai", FallbackFrom = "claude-sonnet" }))
            .Select((call, i) => (RequestId: $"req-{i:D2}", Call: call))
            .ToList();
        var started = DateTimeOffset.UtcNow;

        foreach (var (requestId, call) in calls)
        {
            app.UsageLog().Record(new DefaultHttpContext { TraceIdentifier = requestId }, call).ShouldBeTrue();
        }
        var messages = await app.PullUsageMessagesAsync();

        messages.Count.ShouldBe(calls.Count);
        var hasher = new UserIdHasher(UsageSalt);
        foreach (var message in messages)
        {
            var raw = message.GetDataAsString();
            var row = JsonDocument.Parse(raw).RootElement;
            Schema.Problems(row).ShouldBeEmpty(raw);
            var call = calls.Single(c => c.RequestId == row.GetProperty("request_id").GetString()).Call;
            row.GetProperty("source").GetString().ShouldBe(call.Caller.SourceName);
            row.GetProperty("status").GetString().ShouldBe(call.Outcome.StatusName);
            row.GetProperty("error_code").ValueKind.ShouldBe(call.Outcome.ErrorCode is null ? JsonValueKind.Null : JsonValueKind.String);
            row.GetProperty("user_id").GetString().ShouldBe(hasher.Hash(call.BilledUserId ?? call.Caller.UserId!));
            row.GetProperty("fallback_from").GetString().ShouldBe("claude-sonnet");
            row.GetProperty("endpoint").GetString().ShouldBe("/code");
            DateTimeOffset.Parse(row.GetProperty("event_time").GetString()!, System.Globalization.CultureInfo.InvariantCulture)
                .ShouldBeInRange(started.AddSeconds(-1), DateTimeOffset.UtcNow);
            message.Attributes["model"].ShouldBe("gpt-5");
            message.Attributes["provider"].ShouldBe("openai");
            message.Attributes["source"].ShouldBe(row.GetProperty("source").GetString());
            message.Attributes["status"].ShouldBe(row.GetProperty("status").GetString());
            foreach (var personal in new[] { WebCaller.UserId!, KeyCaller.UserId!, AgentBilledUser, ServiceAccount, "@" })
            {
                raw.ShouldNotContain(personal);
                message.Attributes.Values.ShouldNotContain(personal);
            }
        }
        var combinations = messages.Select(m => JsonDocument.Parse(m.GetDataAsString()).RootElement)
            .Select(row => (row.GetProperty("source").GetString(), row.GetProperty("status").GetString()))
            .Distinct();
        combinations.Count().ShouldBe(12);
    }

    [Fact]
    public async Task TheUserHashFollowsTheConfiguredSaltAndFallsBackToTheAuditSalt()
    {
        await using var first = new InferenceApiApplication(platform, settings: new Dictionary<string, string?> { ["USAGE_USER_HASH_SALT"] = UsageSalt });
        await using var second = new InferenceApiApplication(platform, settings: new Dictionary<string, string?> { ["USAGE_USER_HASH_SALT"] = UsageSalt + "-other" });
        await using var fallback = new InferenceApiApplication(platform);

        string Hash(InferenceApiApplication app, CallerContext caller) => app.UsageLog().Build("req-salt", Call(caller)).UserId;

        Hash(first, WebCaller).ShouldBe(Hash(first, WebCaller));
        Hash(first, WebCaller).ShouldBe(new UserIdHasher(UsageSalt).Hash(WebCaller.UserId!));
        Hash(first, KeyCaller).ShouldNotBe(Hash(first, WebCaller));
        Hash(second, WebCaller).ShouldNotBe(Hash(first, WebCaller));
        Hash(fallback, WebCaller).ShouldBe(new UserIdHasher(AuditSalt).Hash(WebCaller.UserId!));
    }

    [Fact]
    public async Task AShortSaltOrABadTopicStopsStartup()
    {
        await using var shortSalt = new InferenceApiApplication(platform, settings: new Dictionary<string, string?> { ["USAGE_USER_HASH_SALT"] = "too-short" });
        await using var badTopic = new InferenceApiApplication(platform, settings: new Dictionary<string, string?> { ["PUBSUB_USAGE_TOPIC"] = "9 not a topic" });

        Should.Throw<OptionsValidationException>(() => shortSalt.CreateClient()).Message.ShouldContain("USAGE_USER_HASH_SALT");
        Should.Throw<OptionsValidationException>(() => badTopic.CreateClient()).Message.ShouldContain("PUBSUB_USAGE_TOPIC");
    }

    [Fact]
    public async Task PubSubUsageTopicChoosesTheTopic()
    {
        await using var app = new InferenceApiApplication(platform, settings: new Dictionary<string, string?> { ["PUBSUB_USAGE_TOPIC"] = "usage-events-staging" });
        await app.CreateUsageSubscriptionAsync("usage-events-staging");

        app.UsageLog().Record("req-topic", Call(KeyCaller)).ShouldBeTrue();
        var messages = await app.PullUsageMessagesAsync();

        var row = JsonDocument.Parse(messages.ShouldHaveSingleItem().GetDataAsString()).RootElement;
        row.GetProperty("request_id").GetString().ShouldBe("req-topic");
        Schema.Problems(row).ShouldBeEmpty();
    }

    [Fact]
    public async Task AFullPublisherBufferDropsAndCountsEventsInsteadOfBlockingTheCaller()
    {
        // A Pub/Sub "emulator" that accepts connections and never answers: the first batch hangs in flight.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        await using var app = new InferenceApiApplication(platform, settings: new Dictionary<string, string?>
        {
            ["PubSub:EmulatorHost"] = $"127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}",
            ["PubSub:MaxBufferedMessages"] = "1",
            ["PubSub:MaxBatchMessages"] = "1",
            ["PubSub:MaxConcurrentPublishes"] = "1",
            ["PubSub:ShutdownTimeout"] = "00:00:01",
        });
        var usage = app.UsageLog();
        var publisher = app.Services.GetRequiredService<PubSubPublisher>();
        const int Calls = 500;

        var watch = Stopwatch.StartNew();
        var accepted = Enumerable.Range(0, Calls).Count(i => usage.Record($"req-{i}", Call(WebCaller)));
        watch.Stop();

        // One batch stuck in flight, at most one message waiting in the buffer; everything else is dropped at once.
        accepted.ShouldBeInRange(1, 2);
        publisher.DroppedCount.ShouldBe(Calls - accepted);
        publisher.PublishedCount.ShouldBe(0);
        watch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(5));
    }
}
