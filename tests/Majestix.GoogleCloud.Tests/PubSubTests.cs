using System.Collections.Concurrent;
using System.Net;
using Majestix.GoogleCloud.PubSub;
using Majestix.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Majestix.GoogleCloud.Tests;

[Collection(PubSubCollection.Name)]
public sealed class PubSubTests(PubSubEmulatorFixture emulator)
{
    private static readonly TimeSpan PullTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task CreatingTopicsAndSubscriptionsIsIdempotent()
    {
        await using var context = await PubSubTestContext.CreateAsync(emulator);

        await context.Client.CreateTopicAsync(context.TopicId);
        await context.Client.CreatePullSubscriptionAsync(context.SubscriptionId, context.TopicId);

        var ids = await context.Client.PublishAsync(context.TopicId, [PubSubMessage.FromString("once")]);
        ids.Count.ShouldBe(1);
        (await context.PullAndAcknowledgeAsync(1, PullTimeout)).Single().GetDataAsString().ShouldBe("once");
    }

    [Fact]
    public async Task PublishingToAMissingTopicFailsWithNotFound()
    {
        await using var context = await PubSubTestContext.CreateAsync(emulator);

        var error = await Should.ThrowAsync<PubSubException>(() => context.Client.PublishAsync("no-such-topic", [PubSubMessage.FromString("x")]));

        error.Status.ShouldBe("NOT_FOUND");
        error.IsRetryable.ShouldBeFalse();
    }

    [Fact]
    public async Task ThousandPublishedMessagesArePulledExactlyOnceWithAttributes()
    {
        const int Count = 1000;
        var recorder = new RecordingHandler();
        await using var context = await PubSubTestContext.CreateAsync(emulator, o => o.MaxBatchMessages = 100, () => recorder);

        for (var i = 0; i < Count; i++)
        {
            context.Publisher.TryPublish(
                context.TopicId,
                PubSubMessage.FromString($"{{\"n\":{i}}}", new Dictionary<string, string> { ["index"] = i.ToString(), ["event"] = "usage" }))
                .ShouldBeTrue();
        }

        await context.Publisher.FlushAsync();
        var received = await context.PullAndAcknowledgeAsync(Count, PullTimeout);
        var redelivered = await PullWithinAsync(context, TimeSpan.FromSeconds(3));

        context.Publisher.PublishedCount.ShouldBe(Count);
        context.Publisher.DroppedCount.ShouldBe(0);
        received.Count.ShouldBe(Count);
        received.Select(m => m.MessageId).Distinct().Count().ShouldBe(Count);
        received.Select(m => int.Parse(m.Attributes["index"])).Order().ShouldBe(Enumerable.Range(0, Count));
        received.ShouldAllBe(m => m.Attributes["event"] == "usage" && m.GetDataAsString() == $"{{\"n\":{m.Attributes["index"]}}}");
        redelivered.ShouldBeEmpty();
        // Batching: 1,000 messages at 100 per batch is at least 10 publish calls, far fewer than 1,000.
        recorder.Requests.Count(r => r.Uri.AbsolutePath.EndsWith(":publish", StringComparison.Ordinal)).ShouldBeInRange(10, 100);
    }

    // The emulator holds a pull open until messages arrive, so "nothing more" means nothing within the window.
    private static async Task<IReadOnlyList<PubSubReceivedMessage>> PullWithinAsync(PubSubTestContext context, TimeSpan window)
    {
        using var timeout = new CancellationTokenSource(window);
        try
        {
            return await context.Client.PullAsync(context.SubscriptionId, 1000, timeout.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            return [];
        }
    }

    [Fact]
    public async Task BatchesAreCutAtTheByteLimit()
    {
        var recorder = new RecordingHandler();
        await using var context = await PubSubTestContext.CreateAsync(
            emulator,
            o =>
            {
                o.MaxBatchMessages = 1000;
                o.MaxBatchBytes = 10_000;
                o.MaxBatchDelay = TimeSpan.FromSeconds(30);
            },
            () => recorder);
        var payload = new string('x', 3_000);

        for (var i = 0; i < 9; i++)
        {
            context.Publisher.TryPublish(context.TopicId, PubSubMessage.FromString(payload)).ShouldBeTrue();
        }

        await context.Publisher.FlushAsync();

        var publishBodies = recorder.Requests.Where(r => r.Uri.AbsolutePath.EndsWith(":publish", StringComparison.Ordinal)).ToList();
        publishBodies.Count.ShouldBeGreaterThanOrEqualTo(3);
        publishBodies.ShouldAllBe(r => r.Body!.Length <= 10_000 + 500);
        (await context.PullAndAcknowledgeAsync(9, PullTimeout)).Count.ShouldBe(9);
    }

    [Fact]
    public async Task RetryableErrorsAreRetriedUntilPublished()
    {
        var failing = new FailingRequestHandler(":publish", 2, HttpStatusCode.ServiceUnavailable, "UNAVAILABLE");
        var drops = new ConcurrentQueue<PubSubDroppedMessages>();
        await using var context = await PubSubTestContext.CreateAsync(
            emulator,
            o =>
            {
                o.InitialRetryDelay = TimeSpan.FromMilliseconds(10);
                o.MessagesDropped = drops.Enqueue;
            },
            () => failing);

        context.Publisher.TryPublish(context.TopicId, PubSubMessage.FromString("eventually")).ShouldBeTrue();
        await context.Publisher.FlushAsync();

        failing.Attempts.ShouldBe(3);
        context.Publisher.PublishedCount.ShouldBe(1);
        drops.ShouldBeEmpty();
        (await context.PullAndAcknowledgeAsync(1, PullTimeout)).Single().GetDataAsString().ShouldBe("eventually");
    }

    [Fact]
    public async Task NonRetryableErrorsDropTheBatchAndReportIt()
    {
        var failing = new FailingRequestHandler(":publish", 1, HttpStatusCode.BadRequest, "INVALID_ARGUMENT");
        var drops = new ConcurrentQueue<PubSubDroppedMessages>();
        await using var context = await PubSubTestContext.CreateAsync(emulator, o => o.MessagesDropped = drops.Enqueue, () => failing);

        context.Publisher.TryPublish(context.TopicId, PubSubMessage.FromString("rejected")).ShouldBeTrue();
        await context.Publisher.FlushAsync();

        failing.Attempts.ShouldBe(1);
        context.Publisher.DroppedCount.ShouldBe(1);
        var drop = drops.ShouldHaveSingleItem();
        drop.Reason.ShouldBe(PubSubDropReason.PublishFailed);
        drop.TopicId.ShouldBe(context.TopicId);
        drop.Error.ShouldBeOfType<PubSubException>().Status.ShouldBe("INVALID_ARGUMENT");
    }

    [Fact]
    public async Task FullBufferDropsAndReportsInsteadOfBlockingCallers()
    {
        const int Capacity = 10;
        var gate = new GatedPublishHandler();
        var drops = new ConcurrentQueue<PubSubDroppedMessages>();
        await using var context = await HeldAtTheGateAsync(gate, Capacity, o => o.MessagesDropped = drops.Enqueue);

        var accepted = Enumerable.Range(0, Capacity + 5)
            .Count(i => context.Publisher.TryPublish(context.TopicId, PubSubMessage.FromString($"queued {i}")));

        accepted.ShouldBe(Capacity);
        context.Publisher.DroppedCount.ShouldBe(5);
        drops.Count.ShouldBe(5);
        drops.ShouldAllBe(d => d.Reason == PubSubDropReason.BufferFull && d.Count == 1);

        gate.Open();
        await context.Publisher.FlushAsync();
        var received = await context.PullAndAcknowledgeAsync(Capacity + 1, PullTimeout);
        received.Select(m => m.GetDataAsString()).Order().ShouldBe(
            new[] { "in flight" }.Concat(Enumerable.Range(0, Capacity).Select(i => $"queued {i}")).Order());
    }

    [Fact]
    public async Task AnOutageLogsItsRefusalsOncePerIntervalNotOncePerMessage()
    {
        const int Capacity = 10;
        const int Refused = 1000;
        var gate = new GatedPublishHandler();
        var logs = new RecordingLogs();
        var drops = new ConcurrentQueue<PubSubDroppedMessages>();
        // Pub/Sub "down": the first publish is held, the buffer fills, and every call after it is refused.
        await using var context = await HeldAtTheGateAsync(
            gate,
            Capacity,
            o =>
            {
                o.DropReportInterval = TimeSpan.FromMilliseconds(300);
                o.MessagesDropped = drops.Enqueue;
            },
            logs);
        string[] DropWarnings() => [.. logs.Lines.Where(l => l.Level == LogLevel.Warning && l.Message.StartsWith("Dropped", StringComparison.Ordinal)).Select(l => l.Message)];

        var accepted = Enumerable.Range(0, Capacity + Refused)
            .Count(i => context.Publisher.TryPublish(context.TopicId, PubSubMessage.FromString($"call {i}")));

        accepted.ShouldBe(Capacity);
        context.Publisher.DroppedCount.ShouldBe(Refused);
        drops.Count.ShouldBe(Refused);
        DropWarnings().ShouldHaveSingleItem().ShouldStartWith($"Dropped 1 Pub/Sub message(s) for topic {context.TopicId}: BufferFull");
        using (var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            while (DropWarnings().Length < 2)
            {
                await Task.Delay(50, wait.Token);
            }
        }
        DropWarnings()[1].ShouldStartWith($"Dropped {Refused - 1} more Pub/Sub message(s) for topic {context.TopicId} over the last ");
        DropWarnings()[1].ShouldEndWith("s: BufferFull");

        gate.Open();
        await context.Publisher.FlushAsync();
        (await context.PullAndAcknowledgeAsync(Capacity + 1, PullTimeout)).Count.ShouldBe(Capacity + 1);
        DropWarnings().Length.ShouldBe(2);
    }

    [Fact]
    public async Task PublishesOverlapUpToTheLimitWhileOneOrderingKeysBatchesGoOneAtATime()
    {
        var slow = new SlowPublishHandler(TimeSpan.FromMilliseconds(150));
        await using var context = await PubSubTestContext.CreateAsync(
            emulator,
            o =>
            {
                o.MaxBatchMessages = 1;
                o.MaxConcurrentPublishes = 3;
            },
            () => slow);

        for (var i = 0; i < 12; i++)
        {
            context.Publisher.TryPublish(context.TopicId, PubSubMessage.FromString($"free {i}")).ShouldBeTrue();
        }
        await context.Publisher.FlushAsync();
        var overlapping = slow.MostInFlight;
        slow.Reset();
        for (var i = 0; i < 6; i++)
        {
            context.Publisher.TryPublish(context.TopicId, PubSubMessage.FromString($"keyed {i}") with { OrderingKey = "one-key" }).ShouldBeTrue();
        }
        await context.Publisher.FlushAsync();

        overlapping.ShouldBe(3);
        slow.MostInFlight.ShouldBe(1);
        slow.KeyedBodies.ShouldBe(Enumerable.Range(0, 6).Select(i => $"keyed {i}"));
        var received = await context.PullAndAcknowledgeAsync(18, PullTimeout);
        received.Count.ShouldBe(18);
        context.Publisher.DroppedCount.ShouldBe(0);
    }

    [Fact]
    public async Task StoppingTheHostFlushesBufferedMessages()
    {
        var projectId = TestIsolation.NewProjectId("ps");
        var topicId = TestIsolation.NewId("topic");
        var subscriptionId = TestIsolation.NewId("sub");
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddPubSub(o =>
        {
            o.ProjectId = projectId;
            o.EmulatorHost = emulator.EmulatorHost;
            // Nothing would go out before shutdown on its own.
            o.MaxBatchDelay = TimeSpan.FromHours(1);
            o.MaxBatchMessages = 1000;
        });
        using var host = builder.Build();
        await host.StartAsync();
        var client = host.Services.GetRequiredService<PubSubClient>();
        var publisher = host.Services.GetRequiredService<PubSubPublisher>();
        await client.CreateTopicAsync(topicId);
        await client.CreatePullSubscriptionAsync(subscriptionId, topicId);

        for (var i = 0; i < 25; i++)
        {
            publisher.TryPublish(topicId, PubSubMessage.FromString($"m{i}")).ShouldBeTrue();
        }

        await Task.Delay(200);
        publisher.PublishedCount.ShouldBe(0);

        await host.StopAsync();

        publisher.PublishedCount.ShouldBe(25);
        publisher.TryPublish(topicId, PubSubMessage.FromString("late")).ShouldBeFalse();
        var received = new List<PubSubReceivedMessage>();
        using var deadline = new CancellationTokenSource(PullTimeout);
        while (received.Count < 25)
        {
            var batch = await client.PullAsync(subscriptionId, 100, deadline.Token);
            await client.AcknowledgeAsync(subscriptionId, batch.Select(m => m.AckId), deadline.Token);
            received.AddRange(batch);
        }

        received.Select(m => m.GetDataAsString()).Order().ShouldBe(Enumerable.Range(0, 25).Select(i => $"m{i}").Order());
    }

    /// <summary>
    /// A publisher with a buffer of <paramref name="capacity"/> whose one publish in flight (one message a
    /// batch) is held at <paramref name="gate"/>: everything published after it stays in the buffer.
    /// </summary>
    private async Task<PubSubTestContext> HeldAtTheGateAsync(GatedPublishHandler gate, int capacity, Action<PubSubOptions> configure, RecordingLogs? logs = null)
    {
        var context = await PubSubTestContext.CreateAsync(
            emulator,
            o =>
            {
                o.MaxBufferedMessages = capacity;
                o.MaxBatchMessages = 1;
                o.MaxConcurrentPublishes = 1;
                configure(o);
            },
            () => gate,
            logs);
        try
        {
            context.Publisher.TryPublish(context.TopicId, PubSubMessage.FromString("in flight")).ShouldBeTrue();
            await gate.FirstPublishArrived.Task.WaitAsync(TimeSpan.FromSeconds(10));
            return context;
        }
        catch
        {
            await context.DisposeAsync();
            throw;
        }
    }
}
