using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Majestix.InferenceApi.Credits;
using Majestix.InferenceApi.Inference;
using Majestix.InferenceApi.Tests.Credits;
using Majestix.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using StackExchange.Redis.KeyspaceIsolation;

namespace Majestix.InferenceApi.Tests.OpenAiCompatible;

/// <summary>
/// The OpenAI-compatible endpoint answers without waiting for its settle, and the settle still happens,
/// exactly once, even when the service shuts down right after the answer. A redis-server of its own lets
/// these tests hold a settle in flight: <c>CLIENT PAUSE … WRITE</c> blocks every script until it expires,
/// while reads (the test's, on its own connection) go on.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class BackgroundSettleTests(PlatformFixture platform) : IAsyncLifetime
{
    private static readonly Uri Completions = new("/v1/chat/completions", UriKind.Relative);
    private static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(1500);
    private readonly RedisServerFixture _redis = new();

    public Task InitializeAsync() => _redis.InitializeAsync();

    public Task DisposeAsync() => _redis.DisposeAsync();

    private InferenceApiApplication App(Isolation? isolation = null) =>
        new(platform, isolation, new Dictionary<string, string?> { ["ConnectionStrings:redis"] = _redis.ConnectionString });

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnswerArrivesWhileItsSettleIsHeldUpAndShutdownWaitsToChargeIt(bool stream)
    {
        var userId = stream ? "late-settle-stream" : "late-settle";
        await using var app = App();
        await app.SeedUserAsync(userId, "pro");
        var (_, apiKey) = await app.SeedKeyAsync(userId);
        using var client = app.BearerClient(apiKey);
        var before = await OpenAiCompatibleApiTests.RemainingAsync(client);
        await using var probe = await ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString + ",allowAdmin=true");
        var redis = probe.GetDatabase().WithKeyPrefix(app.Isolation.KeyPrefix);

        // The mock takes 400 ms to answer: time to see the hold and pause Redis's writes before the settle.
        var answer = client.PostAsJsonAsync(Completions, new
        {
            model = "gpt-5-mini",
            stream,
            messages = new[] { new { role = "user", content = "hello [[mock latency_ms=400]]" } },
        });
        var holdId = await HeldHoldAsync(redis, userId);
        await probe.GetServer(probe.GetEndPoints()[0]).ExecuteAsync("CLIENT", "PAUSE", (long)Pause.TotalMilliseconds, "WRITE");
        var paused = Stopwatch.StartNew();

        using var response = await answer;
        var body = await response.Content.ReadAsStringAsync();
        var answeredAfter = paused.Elapsed;
        response.StatusCode.ShouldBe(HttpStatusCode.OK, body);
        body.ShouldContain(stream ? "data: [DONE]" : "\"chat.completion\"");
        answeredAfter.ShouldBeLessThan(Pause, "the answer did not wait for the settle");
        // The settle is still held up by the pause.
        ((string?)await redis.HashGetAsync(CreditKeys.Holds(userId), holdId))!.ShouldStartWith("held|");
        app.Services.GetRequiredService<BackgroundSettles>().Running.ShouldBe(1);

        // Shutdown waits for the settle, then the ledger writer drains the entry it queued.
        await app.DisposeAsync();

        ((string?)await redis.HashGetAsync(CreditKeys.Holds(userId), holdId))!.ShouldStartWith("settled|");
        (await redis.SortedSetLengthAsync(CreditKeys.LedgerPending)).ShouldBe(0, "the entry reached the ledger before shutdown finished");
        await using var again = App(app.Isolation);
        var ledger = await again.LedgerAsync(userId);
        var charge = ledger.ShouldHaveSingleItem();
        charge.Type.ShouldBe(LedgerEntryTypes.Charge);
        var charged = CreditUnits.ToCredits(-(charge.PlanDelta + charge.TopupDelta));
        charged.ShouldBeGreaterThan(0m);
        using var reloaded = again.BearerClient(apiKey);
        (await OpenAiCompatibleApiTests.RemainingAsync(reloaded)).ShouldBe(before - charged);
    }

    [Fact]
    public async Task SettlesOfConcurrentAnswersAreEachChargedOnce()
    {
        await using var app = App();
        await app.SeedUserAsync("many-settles", "pro");
        var (_, apiKey) = await app.SeedKeyAsync("many-settles");
        using var client = app.BearerClient(apiKey);
        var before = await OpenAiCompatibleApiTests.RemainingAsync(client);

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => client.PostAsJsonAsync(Completions, new
        {
            model = "gpt-5-mini",
            stream = i % 2 == 0,
            messages = new[] { new { role = "user", content = "hi" } },
        })));

        responses.ShouldAllBe(r => r.StatusCode == HttpStatusCode.OK);
        await app.WaitForLedgerWritesAsync();
        var ledger = await app.LedgerAsync("many-settles");
        ledger.Count.ShouldBe(20);
        ledger.Select(e => e.RequestId).Distinct().Count().ShouldBe(20);
        var charged = CreditUnits.ToCredits(-ledger.Sum(e => e.PlanDelta + e.TopupDelta));
        (await OpenAiCompatibleApiTests.RemainingAsync(client)).ShouldBe(before - charged);
        app.Services.GetRequiredService<BackgroundSettles>().Running.ShouldBe(0);
    }

    [Fact]
    public async Task AFailedSettleIsLoggedWithItsRequestAndShutdownWaitsOnlyForTheRunningOnes()
    {
        var logs = new RecordingLogs();
        var settles = new BackgroundSettles(logs.For<BackgroundSettles>());
        var slow = new TaskCompletionSource();

        settles.Track(Task.FromException(new InvalidOperationException("The settle script failed")), "req-failed");
        settles.Track(slow.Task, "req-slow");
        settles.Running.ShouldBe(1);
        var stopping = settles.StopAsync(CancellationToken.None);
        await Task.Delay(50);
        stopping.IsCompleted.ShouldBeFalse();
        slow.SetResult();
        await stopping.WaitAsync(TimeSpan.FromSeconds(5));

        settles.Running.ShouldBe(0);
        var error = logs.Lines.Where(e => e.Level == LogLevel.Error).ShouldHaveSingleItem();
        error.Message.ShouldContain("req-failed");
    }

    [Fact]
    public async Task ShutdownThatRunsOutOfTimeStopsWaitingAndSaysWhatItLeft()
    {
        var logs = new RecordingLogs();
        var settles = new BackgroundSettles(logs.For<BackgroundSettles>());
        var stuck = new TaskCompletionSource();
        settles.Track(stuck.Task, "req-stuck");
        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        await settles.StopAsync(timeout.Token).WaitAsync(TimeSpan.FromSeconds(5));

        settles.Running.ShouldBe(1);
        logs.Lines.Where(e => e.Level == LogLevel.Warning).ShouldHaveSingleItem().Message.ShouldContain("1 background settles");
        stuck.SetResult();
    }

    private static async Task<string> HeldHoldAsync(IDatabase redis, string userId)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            foreach (var hold in await redis.HashGetAllAsync(CreditKeys.Holds(userId)))
            {
                if (((string?)hold.Value)!.StartsWith("held|", StringComparison.Ordinal))
                {
                    return hold.Name!;
                }
            }
            await Task.Delay(10);
        }
        throw new TimeoutException("The call never reserved credits.");
    }
}
