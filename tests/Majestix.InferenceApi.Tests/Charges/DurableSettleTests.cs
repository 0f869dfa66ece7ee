using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Majestix.GoogleCloud.Firestore;
using Majestix.InferenceApi.Credits;
using Majestix.InferenceApi.Inference.Catalog;
using Majestix.InferenceApi.RateLimiting;
using Majestix.InferenceApi.Tests.Credits;
using Majestix.InferenceApi.Tests.Inference;
using Majestix.Testing;
using Microsoft.Extensions.DependencyInjection;
using static Majestix.InferenceApi.Tests.Credits.CreditTestExtensions;

namespace Majestix.InferenceApi.Tests.Charges;

/// <summary>
/// Once a provider has answered, the call is answered and charged exactly once, whatever Redis does meanwhile:
/// a settle Redis cannot take goes to the ledger first and reaches Redis later, from this process or, if it
/// dies, from any instance's reaper. Uses a redis-server of its own, which it pauses (SIGSTOP) and resumes.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class DurableSettleTests(PlatformFixture platform) : IAsyncLifetime
{
    private static readonly Uri Code = new("/code", UriKind.Relative);
    private readonly RedisServerFixture _redis = new();

    public Task InitializeAsync() => _redis.InitializeAsync();

    public async Task DisposeAsync()
    {
        if (_redis.IsRunning)
        {
            await SignalAsync("CONT");
        }
        await _redis.DisposeAsync();
    }

    private InferenceApiApplication App(Isolation? isolation = null, string commandTimeoutMs = "500") =>
        new(platform, isolation, new Dictionary<string, string?>
        {
            ["ConnectionStrings:redis"] = _redis.ConnectionString,
            ["Redis:CommandTimeoutMilliseconds"] = commandTimeoutMs,
            ["Credits:ReaperIntervalMilliseconds"] = "3600000",
            ["RateLimits:PerIpPerMinute"] = "0",
        });

    [Fact]
    public async Task ASettleWhileRedisIsPausedStillAnswersAndTheChargeLandsOnceWhenRedisIsBack()
    {
        await using var app = App();
        await app.SeedUserAsync("patience", "pro");
        using var web = app.WebClient("patience");
        var before = (await app.Credits().GetBalanceAsync("patience")).TotalUnits;
        var marker = Guid.NewGuid().ToString("N");

        var call = web.PostAsJsonAsync(Code, new
        {
            model = "claude-haiku",
            stream = false,
            messages = new[] { new { role = "user", content = $"{marker} [[mock latency_ms=1500 output_tokens=40]]" } },
        });
        // The hold is taken and the upstream has the request: Redis stops answering before the settle.
        (await Eventually.HoldsAsync(async () => (await platform.MockUpstream.RequestsAsync(marker)).Count == 1, TimeSpan.FromSeconds(20))).ShouldBeTrue();
        await SignalAsync("STOP");
        HttpResponseMessage response;
        try
        {
            response = await call.WaitAsync(TimeSpan.FromSeconds(30));
            // Answered while Redis still sleeps: the charge went to the ledger first.
            (await app.LedgerAsync("patience")).ShouldHaveSingleItem().Type.ShouldBe(LedgerEntryTypes.Charge);
        }
        finally
        {
            await SignalAsync("CONT");
        }

        using (response)
        {
            response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
            using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            var expected = app.PriceOf("claude-haiku", (await platform.MockUpstream.RequestsAsync(marker)).Single());
            answer.RootElement.GetProperty("credits_used").GetDecimal().ShouldBe(CreditUnits.ToCredits(expected));
            await app.AssertChargedOnceAsync("patience", before, expected);
        }
    }

    [Fact]
    public async Task AHoldWhoseChargeIsInTheLedgerIsSettledByAnotherInstancesReaperNotVoided()
    {
        var isolation = Isolation.New();
        long held;
        CreditReservation hold;
        await using (var dying = App(isolation))
        {
            hold = (await dying.Credits().ReserveAsync("phoenix", Units(100), holdTtl: TimeSpan.FromSeconds(1))).Reservation!;
            held = (await dying.Credits().GetBalanceAsync("phoenix")).TotalUnits;
            // What a settle that could not reach Redis leaves behind when its process dies mid-retry: the entry, the hold still held.
            await dying.Services.GetRequiredService<CreditLedger>().AppendAsync("phoenix", hold.HoldId, ChargeOf(hold, Units(37)), CancellationToken.None);
        }
        held.ShouldBe(Units(400));

        await using var survivor = App(isolation);
        await Task.Delay(1_200);
        var voided = await survivor.Reaper().ReapAsync();

        voided.ShouldBe(0);
        (await survivor.Credits().GetBalanceAsync("phoenix")).TotalUnits.ShouldBe(Units(500 - 37));
        ((string?)await survivor.Redis().HashGetAsync(CreditKeys.Holds("phoenix"), hold.HoldId))!.ShouldStartWith("settled|");
        (await survivor.Redis().SortedSetLengthAsync(CreditKeys.LedgerPending)).ShouldBe(0);
        (await survivor.LedgerAsync("phoenix")).ShouldHaveSingleItem().PlanDelta.ShouldBe(-Units(37));
        // The retry of the dead process, had it come back, changes nothing; nor does a rebuild.
        (await survivor.Credits().SettleAsync(hold, Units(37))).Status.ShouldBe(SettleStatus.Duplicate);
        (await survivor.Credits().RefreshAsync("phoenix")).TotalUnits.ShouldBe(Units(500 - 37));
    }

    [Fact]
    public async Task ARebuildWhileAChargeIsInTheLedgerAndItsHoldStillHeldCountsItOnce()
    {
        await using var app = App();
        var credits = app.Credits();
        var hold = (await credits.ReserveAsync("janus", Units(100))).Reservation!;
        await app.Services.GetRequiredService<CreditLedger>().AppendAsync("janus", hold.HoldId, ChargeOf(hold, Units(37)), CancellationToken.None);

        var rebuilt = await credits.RefreshAsync("janus");
        var settledLater = await credits.SettleAsync(hold, Units(37));

        rebuilt.TotalUnits.ShouldBe(Units(500 - 37));
        settledLater.Status.ShouldBe(SettleStatus.Duplicate);
        (await credits.GetBalanceAsync("janus")).TotalUnits.ShouldBe(Units(500 - 37));
        (await app.Reaper().ReapAsync()).ShouldBe(0);
        (await credits.RefreshAsync("janus")).TotalUnits.ShouldBe(Units(500 - 37));
        (await app.LedgerAsync("janus")).ShouldHaveSingleItem();
    }

    [Fact]
    public async Task CommandsThatTimeOutWhileRedisIsBusyAreRetriedWithoutHoldingOrChargingTwice()
    {
        await using var app = App(commandTimeoutMs: "100");
        var credits = app.Credits();
        (await credits.GetBalanceAsync("busy")).TotalUnits.ShouldBe(Units(500));
        using var other = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString);

        // Redis runs one slow script for 700 ms: every command sent meanwhile times out on the client and runs afterwards.
        var reserve = await WhileRedisIsBusyAsync(other, () => credits.ReserveAsync("busy", Units(100)));
        var hold = reserve.Reservation!;
        var settle = await WhileRedisIsBusyAsync(other, () => credits.SettleAsync(hold, Units(30)));

        reserve.Status.ShouldBe(ReserveStatus.Reserved);
        settle.ChargedUnits.ShouldBe(Units(30));
        settle.Status.ShouldBeOneOf(SettleStatus.Settled, SettleStatus.Duplicate);
        (await app.Redis().HashLengthAsync(CreditKeys.Holds("busy"))).ShouldBe(1);
        (await credits.GetBalanceAsync("busy")).TotalUnits.ShouldBe(Units(470));
        await app.WaitForLedgerWritesAsync();
        (await app.LedgerAsync("busy")).ShouldHaveSingleItem().PlanDelta.ShouldBe(-Units(30));
    }

    [Fact]
    public async Task AModelCallWhoseGateTimesOutWhileRedisIsBusyIsAnsweredAndCountedOnce()
    {
        await using var app = App(commandTimeoutMs: "400");
        await app.SeedUserAsync("gatekeeper", "pro");
        var (_, apiKey) = await app.SeedKeyAsync("gatekeeper");
        using var client = app.KeyClient(apiKey);
        object Body(string text) => new { model = "claude-haiku", stream = false, messages = new[] { new { role = "user", content = text } } };
        using (var warm = await client.PostAsJsonAsync(Code, Body("warm up")))
        {
            warm.StatusCode.ShouldBe(HttpStatusCode.OK);
        }
        using var other = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString);

        // The cached key's gate script (key, window, hold in one trip) times out on the client (timeouts are noticed on the
        // multiplexer's 1 s heartbeat, so Redis stays busy longer than that) and runs late: it is sent again.
        using var response = await WhileRedisIsBusyAsync(other, () => client.PostAsJsonAsync(Code, Body("while busy")), busyMs: 1400);

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await app.Redis().SortedSetLengthAsync(RateLimitKeys.User(UserWindow.ModelCalls, "gatekeeper"))).ShouldBe(2);
        await app.WaitForLedgerWritesAsync();
        (await app.LedgerAsync("gatekeeper")).Count.ShouldBe(2);
        (await app.Redis().HashLengthAsync(CreditKeys.Holds("gatekeeper"))).ShouldBe(2);
    }

    [Fact]
    public async Task AWindowScriptRunAgainWithTheSameMemberCountsTheRequestOnce()
    {
        await using var app = App();
        var gate = app.Services.GetRequiredService<RedisGate>();
        var member = RedisGate.NewMember();

        var first = await gate.AdmitUserAsync("repeat", UserWindow.ModelCalls, perMinute: 1, member);
        var again = await gate.AdmitUserAsync("repeat", UserWindow.ModelCalls, perMinute: 1, member);
        var another = await gate.AdmitUserAsync("repeat", UserWindow.ModelCalls, perMinute: 1);

        first.Allowed.ShouldBeTrue();
        again.Allowed.ShouldBeTrue();
        another.Allowed.ShouldBeFalse();
        (await app.Redis().SortedSetLengthAsync(RateLimitKeys.User(UserWindow.ModelCalls, "repeat"))).ShouldBe(1);
    }

    private static async Task<T> WhileRedisIsBusyAsync<T>(StackExchange.Redis.ConnectionMultiplexer other, Func<Task<T>> operation, int busyMs = 700)
    {
        var busy = other.GetDatabase().ScriptEvaluateAsync("""
            local start = redis.call('TIME')
            while true do
              local now = redis.call('TIME')
              if (now[1] - start[1]) * 1000000 + now[2] - start[2] > tonumber(ARGV[1]) * 1000 then return 1 end
            end
            """, values: [busyMs]);
        await Task.Delay(50);
        var result = await operation();
        await busy;
        return result;
    }

    [Fact]
    public async Task ManyLongAnswersAtOnceOnASaturatedProcessAreAllAnsweredAndEachChargedOnce()
    {
        // The review's 30 calls of 60,000 output tokens to claude-opus, scaled to this shared 2-core machine; the
        // production 500 ms command timeout, while the answers' parsing keeps the process's CPU busy.
        const int calls = 30;
        const int outputTokens = 60_000;
        await using var app = App();
        var allocation = CreditUnits.FromWholeCredits(100_000);
        await app.Firestore.SetAsync("users/crowd", new Dictionary<string, FirestoreValue> { ["uid"] = "crowd", ["plan"] = "pro", ["allocation"] = allocation, ["created_at"] = DateTimeOffset.UtcNow });
        var (_, apiKey) = await app.SeedKeyAsync("crowd");
        using var client = app.KeyClient(apiKey);
        client.Timeout = TimeSpan.FromMinutes(5);
        var marker = Guid.NewGuid().ToString("N");
        // A service that is up and has served before, as in the review.
        using (var warm = await client.PostAsJsonAsync(Code, new { model = "claude-opus", stream = false, messages = new[] { new { role = "user", content = "warm up" } } }))
        {
            warm.StatusCode.ShouldBe(HttpStatusCode.OK);
        }
        await app.WaitForLedgerWritesAsync();
        var warmCharges = (await app.LedgerAsync("crowd")).Count;
        allocation = (await app.Credits().GetBalanceAsync("crowd")).TotalUnits;
        var clock = Stopwatch.StartNew();

        var responses = await Task.WhenAll(Enumerable.Range(0, calls).Select(i => client.PostAsJsonAsync(Code, new
        {
            model = "claude-opus",
            stream = false,
            max_tokens = 64_000,
            messages = new[] { new { role = "user", content = $"{marker} call {i} [[mock output_tokens={outputTokens}]]" } },
        })));
        var elapsed = clock.Elapsed;

        var bodies = await Task.WhenAll(responses.Select(r => r.Content.ReadAsStringAsync()));
        responses.Select(r => r.StatusCode).ShouldAllBe(status => status == HttpStatusCode.OK, string.Join("\n", bodies.Where(b => !b.StartsWith('{') || b.Contains("detail", StringComparison.Ordinal)).Take(3)));
        var upstream = await platform.MockUpstream.RequestsAsync(marker);
        upstream.Count.ShouldBe(calls);
        var expected = upstream.Sum(r => app.PriceOf("claude-opus", r));
        var answered = bodies.Sum(b => CreditUnits.FromCredits(JsonDocument.Parse(b).RootElement.GetProperty("credits_used").GetDecimal())!.Value);
        answered.ShouldBe(expected);
        await app.WaitForLedgerWritesAsync();
        var charges = (await app.LedgerAsync("crowd")).Where(e => e.Type == LedgerEntryTypes.Charge && e.RequestId is not null).ToList();
        charges.Count.ShouldBe(calls + warmCharges);
        charges.Sum(e => -(e.PlanDelta + e.TopupDelta)).ShouldBe(expected + CreditUnits.FromWholeCredits(100_000) - allocation);
        (await app.Credits().GetBalanceAsync("crowd")).TotalUnits.ShouldBe(allocation - expected);
        (await app.Redis().HashValuesAsync(CreditKeys.Holds("crowd"))).ShouldAllBe(record => ((string)record!).StartsWith("settled|", StringComparison.Ordinal));
        Console.WriteLine($"{calls} calls of {outputTokens} output tokens answered in {elapsed.TotalSeconds:F1} s");
    }

    private static LedgerEntry ChargeOf(CreditReservation hold, long units) =>
        new(LedgerEntryTypes.Charge, -units, 0, DateTimeOffset.UtcNow, DateTimeOffset.FromUnixTimeMilliseconds(hold.CycleStartMs), "claude-haiku", "req-test");

    private async Task SignalAsync(string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", _redis.Process.Id.ToString(CultureInfo.InvariantCulture)])!;
        await kill.WaitForExitAsync();
        kill.ExitCode.ShouldBe(0);
    }

}
