using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Majestix.GoogleCloud.Firestore;
using Majestix.InferenceApi.Credits;
using Majestix.InferenceApi.Identity;
using Majestix.InferenceApi.Inference;
using Majestix.InferenceApi.Inference.Catalog;
using Majestix.InferenceApi.Inference.OpenAiCompatible;
using Majestix.InferenceApi.Keys;
using Majestix.InferenceApi.Tests.Credits;
using Majestix.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Majestix.InferenceApi.Tests.OpenAiCompatible;

/// <summary>
/// <c>/v1/chat/completions</c> (and <c>/code</c>) with a key this instance verified lately: the body is read first and the
/// call's credits are held in the gate's Redis trip. Every refusal must still come from the gate first and
/// hold nothing, and no hold may outlive a refused request. A redis-server of its own, so the scripts sent
/// can be counted from <c>INFO commandstats</c> (the reaper's interval is set past the test).
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class HoldInGateTests(PlatformFixture platform) : IAsyncLifetime
{
    private static readonly Uri Completions = new("/v1/chat/completions", UriKind.Relative);
    private readonly RedisServerFixture _redis = new();
    private ConnectionMultiplexer? _admin;

    public async Task InitializeAsync()
    {
        await _redis.InitializeAsync();
        _admin = await ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString + ",allowAdmin=true");
    }

    public async Task DisposeAsync()
    {
        await _admin!.DisposeAsync();
        await _redis.DisposeAsync();
    }

    private IServer Server => _admin!.GetServer(_admin.GetEndPoints()[0]);

    private InferenceApiApplication App(params (string Key, string Value)[] settings) =>
        new(platform, null, new Dictionary<string, string?>(settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value)))
        {
            ["ConnectionStrings:redis"] = _redis.ConnectionString,
            ["Credits:ReaperIntervalMilliseconds"] = "3600000",
        });

    private static object Ask(string model = "gpt-5-mini", bool stream = false, string content = "hello") => stream
        ? new { model, stream, stream_options = new { include_usage = true }, messages = new[] { new { role = "user", content } } }
        : new { model, messages = new[] { new { role = "user", content } } };

    [Fact]
    public async Task ARecentlyVerifiedKeysCallSendsTwoScriptsAndIsChargedExactly()
    {
        await using var app = App();
        await app.SeedUserAsync("gate-hold", "pro");
        var (_, apiKey) = await app.SeedKeyAsync("gate-hold");
        using var client = app.BearerClient(apiKey);
        // A first call: the key is then one this instance verified, and Redis has every script cached
        // (a script's first run is an EVALSHA refused with NOSCRIPT, then an EVAL).
        (await client.PostAsJsonAsync(Completions, Ask())).StatusCode.ShouldBe(HttpStatusCode.OK);
        await app.WaitForSettlesAsync();
        var before = await OpenAiCompatibleApiTests.RemainingAsync(client);
        await Server.ConfigResetStatisticsAsync();

        var charged = 0m;
        for (var i = 0; i < 6; i++)
        {
            using var response = await client.PostAsJsonAsync(Completions, Ask(stream: i % 2 == 1));
            var body = await response.Content.ReadAsStringAsync();
            response.StatusCode.ShouldBe(HttpStatusCode.OK, body);
            charged += OpenAiCompatibleApiTests.Price(app, "gpt-5-mini", i % 2 == 1 ? UsageOfStream(body) : JsonDocument.Parse(body).RootElement.GetProperty("usage"));
        }
        await app.WaitForSettlesAsync();

        // The gate with the call's hold, and the settle: two scripts a call, against three before.
        (await ScriptsSentAsync()).ShouldBe(12);
        var holds = await app.Redis.HashGetAllAsync(CreditKeys.Holds("gate-hold"));
        holds.Length.ShouldBe(7);
        holds.ShouldAllBe(h => ((string)h.Value!).StartsWith("settled|", StringComparison.Ordinal));
        (await OpenAiCompatibleApiTests.RemainingAsync(client)).ShouldBe(before - charged);
        await app.WaitForLedgerWritesAsync();
        (await app.LedgerAsync("gate-hold")).Count.ShouldBe(7);
    }

    [Fact]
    public async Task CodeCallsHoldInTheGateTooAndAnswerBadBodiesOnlyAfterIt()
    {
        var code = new Uri("/code", UriKind.Relative);
        await using var app = App();
        await app.SeedUserAsync("gate-code", "pro");
        var (keyId, apiKey) = await app.SeedKeyAsync("gate-code");
        using var client = app.KeyClient(apiKey);
        (await client.PostAsJsonAsync(code, Ask())).StatusCode.ShouldBe(HttpStatusCode.OK);
        await app.WaitForSettlesAsync();
        await Server.ConfigResetStatisticsAsync();

        using var json = await client.PostAsJsonAsync(code, new { model = "gpt-5-mini", stream = false, messages = new[] { new { role = "user", content = "hello" } } });
        using var stream = await client.PostAsJsonAsync(code, new { model = "gpt-5-mini", stream = true, messages = new[] { new { role = "user", content = "hello" } } });
        using var routed = await client.PostAsJsonAsync(code, new { messages = new[] { new { role = "user", content = "hello" } } });
        using var notJson = await client.PostAsync(code, new StringContent("{", Encoding.UTF8, "application/json"));

        json.StatusCode.ShouldBe(HttpStatusCode.OK);
        JsonDocument.Parse(await json.Content.ReadAsStringAsync()).RootElement.GetProperty("credits_used").GetDecimal().ShouldBeGreaterThan(0m);
        stream.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await stream.Content.ReadAsStringAsync()).ShouldContain("credits_used");
        routed.StatusCode.ShouldBe(HttpStatusCode.OK, "no model: the gate runs first, then the usual reserve");
        notJson.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        // Two scripts for each call naming its model, three for the routed one, one (the gate) for the bad body.
        (await ScriptsSentAsync()).ShouldBe(2 + 2 + 3 + 1);

        using var web = app.WebClient("gate-code");
        (await web.DeleteAsync(new Uri($"/api-keys/{keyId}", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        using var revokedNotJson = await client.PostAsync(code, new StringContent("{", Encoding.UTF8, "application/json"));
        using var revokedInvalid = await client.PostAsJsonAsync(code, new { model = "gpt-5-mini", messages = Array.Empty<object>() });
        revokedNotJson.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        revokedInvalid.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await app.Redis.HashLengthAsync(CreditKeys.Holds("gate-code"))).ShouldBe(4);
    }

    [Fact]
    public async Task RevokedKeyIsRefusedWhateverItsBodyAndHoldsNothing()
    {
        await using var app = App();
        await app.SeedUserAsync("gate-revoked", "pro");
        var (keyId, apiKey) = await app.SeedKeyAsync("gate-revoked");
        using var client = app.BearerClient(apiKey);
        (await client.PostAsJsonAsync(Completions, Ask())).StatusCode.ShouldBe(HttpStatusCode.OK);
        await app.WaitForSettlesAsync();
        var before = await BalanceAsync(app, "gate-revoked");
        using var web = app.WebClient("gate-revoked");
        (await web.DeleteAsync(new Uri($"/api-keys/{keyId}", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        using var valid = await client.PostAsJsonAsync(Completions, Ask());
        using var notJson = await client.PostAsync(Completions, new StringContent("{", Encoding.UTF8, "application/json"));
        using var invalid = await client.PostAsync(Completions, new StringContent("""{"model": "gpt-5-mini", "messages": []}""", Encoding.UTF8, "application/json"));
        using var unknownModel = await client.PostAsJsonAsync(Completions, Ask(model: "no-such-model"));

        foreach (var response in new[] { valid, notJson, invalid, unknownModel })
        {
            response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized, await response.Content.ReadAsStringAsync());
        }
        (await app.Redis.HashLengthAsync(CreditKeys.Holds("gate-revoked"))).ShouldBe(1, "only the call before the revoke held credits");
        (await BalanceAsync(app, "gate-revoked")).ShouldBe(before);
    }

    [Fact]
    public async Task OwnerOverTheirPerUserLimitIsRefusedWithoutAHold()
    {
        await using var app = App(("RateLimits:FreePerMinute", "2"));
        var (_, apiKey) = await app.SeedKeyAsync("gate-limited");
        using var client = app.KeyClient(apiKey);

        (await client.PostAsJsonAsync(Completions, Ask())).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await client.PostAsJsonAsync(Completions, Ask())).StatusCode.ShouldBe(HttpStatusCode.OK);
        await app.WaitForSettlesAsync();
        var before = await BalanceAsync(app, "gate-limited");
        using var third = await client.PostAsJsonAsync(Completions, Ask());

        third.StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
        third.Headers.RetryAfter.ShouldNotBeNull();
        third.Headers.GetValues("RateLimit-Remaining").ShouldBe(["0"]);
        (await app.Redis.HashLengthAsync(CreditKeys.Holds("gate-limited"))).ShouldBe(2);
        (await BalanceAsync(app, "gate-limited")).ShouldBe(before);
    }

    [Fact]
    public async Task ModelOutsideTheOwnersPlanIsRefusedWithoutAHold()
    {
        await using var app = App();
        var (_, apiKey) = await app.SeedKeyAsync("gate-free");
        using var client = app.BearerClient(apiKey);
        (await client.PostAsJsonAsync(Completions, Ask())).StatusCode.ShouldBe(HttpStatusCode.OK);
        await app.WaitForSettlesAsync();
        var before = await BalanceAsync(app, "gate-free");

        using var outside = await client.PostAsJsonAsync(Completions, Ask(model: "claude-opus"));

        outside.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await outside.Content.ReadAsStringAsync()).ShouldContain("model_not_in_plan");
        (await app.Redis.HashLengthAsync(CreditKeys.Holds("gate-free"))).ShouldBe(1);
        (await BalanceAsync(app, "gate-free")).ShouldBe(before);
    }

    [Fact]
    public async Task ShortBalanceIsRefused402FromTheGatesHold()
    {
        await using var app = App();
        await app.Firestore.SetAsync("users/gate-poor", new Dictionary<string, FirestoreValue> { ["plan"] = "free", ["allocation"] = 1_000_000L, ["created_at"] = DateTimeOffset.UtcNow });
        var (_, apiKey) = await app.SeedKeyAsync("gate-poor");
        using var client = app.BearerClient(apiKey);
        (await client.PostAsJsonAsync(Completions, Ask(model: "claude-haiku"))).StatusCode.ShouldBe(HttpStatusCode.PaymentRequired);

        using var again = await client.PostAsJsonAsync(Completions, Ask(model: "claude-haiku"));

        again.StatusCode.ShouldBe(HttpStatusCode.PaymentRequired);
        using var body = JsonDocument.Parse(await again.Content.ReadAsStringAsync());
        body.RootElement.GetProperty("error").GetProperty("message").GetString()!.ShouldContain("1 remain on the free plan");
        (await app.Redis.HashLengthAsync(CreditKeys.Holds("gate-poor"))).ShouldBe(0);
        (await OpenAiCompatibleApiTests.RemainingAsync(client)).ShouldBe(1m);
    }

    [Fact]
    public async Task ConcurrentCallsNeverHoldMoreThanTheBalance()
    {
        await using var app = App(("RateLimits:FreePerMinute", "1000"));
        var worstCase = WorstCase(app, "gpt-5-mini", Ask(content: "hello [[mock latency_ms=300]]"));
        // Room for four such holds at once, after a first call that costs far less than half of one.
        await app.Firestore.SetAsync("users/gate-race", new Dictionary<string, FirestoreValue>
        {
            ["plan"] = "free",
            ["allocation"] = 4 * worstCase + worstCase / 2,
            ["created_at"] = DateTimeOffset.UtcNow,
        });
        var (_, apiKey) = await app.SeedKeyAsync("gate-race");
        using var client = app.BearerClient(apiKey);
        // One call first, so the key is one this instance has verified and the rest take the gate's hold.
        using (var first = await client.PostAsJsonAsync(Completions, Ask()))
        {
            first.StatusCode.ShouldBe(HttpStatusCode.OK);
        }
        await app.WaitForSettlesAsync();
        var left = await BalanceAsync(app, "gate-race");

        var responses = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => client.PostAsJsonAsync(Completions, Ask(content: "hello [[mock latency_ms=300]]"))));
        await app.WaitForSettlesAsync();

        var served = responses.Count(r => r.StatusCode == HttpStatusCode.OK);
        responses.Count(r => r.StatusCode == HttpStatusCode.PaymentRequired).ShouldBe(16 - served);
        served.ShouldBe(4, "every hold that fits at once, and none beyond");
        (left / worstCase).ShouldBe(4);
        var charged = 0m;
        foreach (var response in responses.Where(r => r.StatusCode == HttpStatusCode.OK))
        {
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            charged += OpenAiCompatibleApiTests.Price(app, "gpt-5-mini", body.RootElement.GetProperty("usage"));
        }
        (await BalanceAsync(app, "gate-race")).ShouldBe(left - CreditUnits.FromCredits(charged)!.Value);
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task AHoldTheGateTookForARequestItThenRefusedIsReleased()
    {
        // Only a key expiring between the gate script's clock and this process's can do this; the ticket
        // is built by hand to hand back such a hold.
        await using var app = App();
        var (_, apiKey) = await app.SeedKeyAsync("gate-orphan");
        using var client = app.KeyClient(apiKey);
        (await OpenAiCompatibleApiTests.RemainingAsync(client)).ShouldBeGreaterThan(0m);
        var before = await BalanceAsync(app, "gate-orphan");
        var credits = app.Credits();
        var calls = app.Services.GetRequiredService<ModelCall>();
        var free = new CallerContext(CallerSource.ApiKey, "gate-orphan", Plan.Free, KeyId: "key_x");
        var request = ChatCompletionRequest.Parse(JsonSerializer.SerializeToElement(Ask(model: "claude-opus"))).Request!;

        foreach (var caller in new[] { null, free })
        {
            var held = await credits.ReserveAsync("gate-orphan", 1_000);
            held.Status.ShouldBe(ReserveStatus.Reserved);
            var ticket = new GateTicket(_ => Task.FromResult<(CallerContext?, ReserveResult?)>((caller, held)));

            var (call, refusal) = await calls.StartAsync(ticket, "/v1/chat/completions", false, request.Model, request.ToModelRequest, false, CancellationToken.None);

            call.ShouldBeNull();
            if (caller is null)
            {
                refusal.ShouldBeNull("the gate answered the request");
            }
            else
            {
                refusal!.StatusCode.ShouldBe(StatusCodes.Status403Forbidden);
            }
            ((string?)await app.Redis.HashGetAsync(CreditKeys.Holds("gate-orphan"), held.Reservation!.HoldId))!.ShouldBe($"settled|0|0|{held.Reservation.CycleStartMs}");
            (await BalanceAsync(app, "gate-orphan")).ShouldBe(before);
        }
    }

    [Fact]
    public async Task AKeyNotVerifiedHereLatelyGoesThroughTheGateBeforeItsBodyIsRead()
    {
        // A stranger's body is never read before its key is checked: an unknown key with a body that is not
        // JSON gets 401 (not 400) and counts as a failed authentication.
        await using var app = App();
        using var stranger = app.BearerClient("inf_" + new string('a', 43));

        using var response = await stranger.PostAsync(Completions, new StringContent("{", Encoding.UTF8, "application/json"));

        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        ApiKeyStore.LooksLikeKey("inf_" + new string('a', 43)).ShouldBeTrue("the test must send a well-formed key");
        var failures = Server.KeysAsync(pattern: app.Isolation.KeyPrefix + "authfail:*");
        (await failures.CountAsync()).ShouldBe(1);
    }

    private static async Task<long> BalanceAsync(InferenceApiApplication app, string userId) =>
        (await app.Credits().GetBalanceAsync(userId)).TotalUnits;

    private static long WorstCase(InferenceApiApplication app, string modelKey, object ask)
    {
        var request = ChatCompletionRequest.Parse(JsonSerializer.SerializeToElement(ask)).Request!;
        var model = app.Services.GetRequiredService<ModelCatalog>().Find(modelKey)!;
        return app.Services.GetRequiredService<ModelCall>().WorstCase(model, request.ToModelRequest(model));
    }

    private static JsonElement UsageOfStream(string body) =>
        body.Split('\n').Where(line => line.StartsWith("data: {", StringComparison.Ordinal))
            .Select(line => JsonDocument.Parse(line[6..]).RootElement)
            .Last(frame => frame.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
            .GetProperty("usage");

    /// <summary>Scripts Redis ran since the statistics were reset (a NOSCRIPT retry counts twice).</summary>
    private async Task<long> ScriptsSentAsync() =>
        (await Server.InfoAsync("commandstats")).SelectMany(group => group).Where(pair => pair.Key is "cmdstat_evalsha" or "cmdstat_eval")
            .Sum(pair => long.Parse(pair.Value.Split(',')[0]["calls=".Length..], System.Globalization.CultureInfo.InvariantCulture));
}
