using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Majestix.GoogleCloud.Firestore;
using Majestix.InferenceApi.Credits;
using Majestix.InferenceApi.Inference;
using Majestix.InferenceApi.Inference.Catalog;
using Majestix.InferenceApi.Tests.Credits;
using Majestix.InferenceApi.Tests.Inference;
using Majestix.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Majestix.InferenceApi.Tests.Charges;

/// <summary>
/// Every call is charged what the mock upstream says it billed (its request log), at the price of the model that
/// billed it: fallbacks to pricier models, tools, clients that leave before any output, cut streams.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class ChargeAccuracyTests(PlatformFixture platform)
{
    private static readonly Uri Code = new("/code", UriKind.Relative);

    [Theory]
    [InlineData("gpt-5-mini", "gemini-3-flash", 1)]
    [InlineData("gpt-5.2", "claude-sonnet", 1)]
    [InlineData("kimi-k2", "claude-haiku", 2)]
    [InlineData("gemini-3-pro", "grok-4", 1)]
    public async Task APricierFallbackIsChargedTheUpstreamsUsageAtItsOwnPrice(string requested, string fallback, int failures)
    {
        await using var app = new InferenceApiApplication(platform);
        var user = "fb-" + requested.Replace(".", "", StringComparison.Ordinal);
        await app.SeedUserAsync(user, "pro");
        using var web = app.WebClient(user);
        var marker = Guid.NewGuid().ToString("N");
        // The whole output limit is used, so the fallback's cost is above the requested model's worst case.
        var body = new
        {
            model = requested,
            stream = false,
            max_tokens = 200,
            messages = new[] { new { role = "user", content = $"{marker} [[mock output_tokens=200 status=503 fail_times={failures} fail_key={marker}]]" } },
        };
        (Worst(app, fallback, body) > Worst(app, requested, body)).ShouldBeTrue("the fallback is the pricier model");
        var before = await app.Credits().GetBalanceAsync(user);

        using var response = await web.PostAsJsonAsync(Code, body);

        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        answer.RootElement.GetProperty("model").GetString().ShouldBe(fallback);
        var served = (await platform.MockUpstream.RequestsAsync(marker))[^1];
        served.Outcome.ShouldBe("ok");
        served.OutputTokens.ShouldBe(200);
        var expected = app.PriceOf(fallback, served);
        answer.RootElement.GetProperty("credits_used").GetDecimal().ShouldBe(CreditUnits.ToCredits(expected));
        await app.AssertChargedOnceAsync(user, before.TotalUnits, expected);
    }

    [Fact]
    public async Task AFallbackTheBalanceCannotCoverIsSkippedAndTheFailedCallChargesNothing()
    {
        await using var app = new InferenceApiApplication(platform);
        var marker = Guid.NewGuid().ToString("N");
        // gpt-5-mini fails, gemini-3-flash (pricier) cannot be held, deepseek-v3.2 (cheaper, no raise needed) fails too.
        var body = new
        {
            model = "gpt-5-mini",
            stream = false,
            max_tokens = 200,
            messages = new[] { new { role = "user", content = $"{marker} [[mock output_tokens=200 status=503 fail_times=2 fail_key={marker}]]" } },
        };
        var allocation = Worst(app, "gpt-5-mini", body) + 1;
        Worst(app, "gemini-3-flash", body).ShouldBeGreaterThan(allocation);
        await app.Firestore.SetAsync("users/skint", new Dictionary<string, FirestoreValue> { ["uid"] = "skint", ["plan"] = "pro", ["allocation"] = allocation, ["created_at"] = DateTimeOffset.UtcNow });
        using var web = app.WebClient("skint");

        using var response = await web.PostAsJsonAsync(Code, body);

        response.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable, await response.Content.ReadAsStringAsync());
        (await platform.MockUpstream.RequestsAsync(marker)).Select(r => r.Model).ShouldBe(["gpt-5-mini", "deepseek/deepseek-v3.2"]);
        (await app.Credits().GetBalanceAsync("skint")).TotalUnits.ShouldBe(allocation);
        await app.WaitForLedgerWritesAsync();
        (await app.LedgerAsync("skint")).ShouldBeEmpty();
        (await app.Redis().HashGetAllAsync(CreditKeys.Holds("skint"))).ShouldAllBe(hold => ((string)hold.Value!).StartsWith("settled|0|0|", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AFallbackTheBalanceCannotCoverIsSkippedForTheNextCandidate()
    {
        await using var app = new InferenceApiApplication(platform);
        var marker = Guid.NewGuid().ToString("N");
        var body = new
        {
            model = "gpt-5-mini",
            stream = false,
            max_tokens = 200,
            messages = new[] { new { role = "user", content = $"{marker} [[mock output_tokens=200 status=503 fail_times=1 fail_key={marker}]]" } },
        };
        var allocation = Worst(app, "gpt-5-mini", body) + 1;
        await app.Firestore.SetAsync("users/thrifty", new Dictionary<string, FirestoreValue> { ["uid"] = "thrifty", ["plan"] = "pro", ["allocation"] = allocation, ["created_at"] = DateTimeOffset.UtcNow });
        using var web = app.WebClient("thrifty");

        using var response = await web.PostAsJsonAsync(Code, body);

        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var calls = await platform.MockUpstream.RequestsAsync(marker);
        calls.Select(r => r.Model).ShouldBe(["gpt-5-mini", "deepseek/deepseek-v3.2"]);
        await app.AssertChargedOnceAsync("thrifty", allocation, app.PriceOf("deepseek-v3.2", calls[^1]));
    }

    [Fact]
    public async Task ToolDefinitionsAndEarlierToolTurnsAreChargedAsTheUpstreamCountedThem()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("toolsmith", "pro");
        using var web = app.WebClient("toolsmith");
        var marker = Guid.NewGuid().ToString("N");
        var schema = new { type = "object", properties = new { path = new { type = "string", description = "The file to read, relative to the workspace root" } }, required = new[] { "path" } };
        var before = await app.Credits().GetBalanceAsync("toolsmith");

        using var response = await web.PostAsJsonAsync(Code, new
        {
            model = "claude-sonnet",
            stream = false,
            tools = new object[]
            {
                new { name = "read_file", description = "Reads a file of the workspace and returns its text", input_schema = schema },
                new { name = "list_files", description = "Lists the files under a folder", input_schema = schema },
            },
            messages = new object[]
            {
                new { role = "user", content = (object)"What does the readme say?" },
                new { role = "assistant", content = (object)new object[] { new { type = "tool_use", id = "toolu_1", name = "read_file", input = new { path = "README.md" } } } },
                new { role = "user", content = (object)new object[] { new { type = "tool_result", tool_use_id = "toolu_1", content = "Majestix Inference Hub: one gateway to many models." } } },
                new { role = "user", content = (object)$"{marker} now list the docs [[mock tool_call=list_files]]" },
            },
        });

        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        answer.RootElement.GetProperty("stop_reason").GetString().ShouldBe("tool_use");
        var served = (await platform.MockUpstream.RequestsAsync(marker)).Single();
        served.ToolCall.ShouldBe("list_files");
        var expected = app.PriceOf("claude-sonnet", served);
        answer.RootElement.GetProperty("credits_used").GetDecimal().ShouldBe(CreditUnits.ToCredits(expected));
        await app.AssertChargedOnceAsync("toolsmith", before.TotalUnits, expected);
    }

    [Theory]
    [InlineData("claude-haiku", true)]
    [InlineData("gpt-5-mini", true)]
    [InlineData("claude-haiku", false)]
    [InlineData("gpt-5-mini", false)]
    public async Task AClientThatLeavesBeforeTheFirstOutputPaysTheInputTheUpstreamWasSent(string model, bool stream)
    {
        await using var app = new InferenceApiApplication(platform);
        var user = $"leaver-{model.Replace(".", "", StringComparison.Ordinal)}-{stream}".ToLowerInvariant();
        await app.SeedUserAsync(user, "pro");
        using var web = app.WebClient(user);
        var marker = Guid.NewGuid().ToString("N");
        var before = await app.Credits().GetBalanceAsync(user);

        using var leave = new CancellationTokenSource();
        var call = web.PostAsJsonAsync(Code, new
        {
            model,
            stream,
            messages = new[] { new { role = "user", content = $"{marker} tell me a long story about rivers and mountains [[mock ttft_ms=20000 latency_ms={(stream ? 0 : 20000)}]]" } },
        }, leave.Token);
        // The upstream has the request (and bills its input), then the client goes away.
        (await Eventually.HoldsAsync(async () => (await platform.MockUpstream.RequestsAsync(marker)).Count == 1, TimeSpan.FromSeconds(20))).ShouldBeTrue();
        await Task.Delay(200);
        await leave.CancelAsync();
        try
        {
            (await call).Dispose();
        }
        catch (OperationCanceledException)
        {
            // The client's own cancellation: it left.
        }

        var sent = (await platform.MockUpstream.RequestsAsync(marker)).Single();
        sent.InputTokens.ShouldBeGreaterThan(10);
        var expected = app.PriceOf(model, sent with { OutputTokens = 0 });
        (await Eventually.HoldsAsync(async () => (await app.LedgerAsync(user)).Count == 1, TimeSpan.FromSeconds(20))).ShouldBeTrue("the call was settled");
        await app.AssertChargedOnceAsync(user, before.TotalUnits, expected);
    }

    [Theory]
    [InlineData("claude-haiku", "abort")]
    [InlineData("gpt-5-mini", "abort")]
    [InlineData("gpt-5-mini", "eof")]
    [InlineData("claude-haiku", "error")]
    public async Task ACutStreamIsChargedTheInputAndTheOutputTheUpstreamSent(string model, string cutMode)
    {
        await using var app = new InferenceApiApplication(platform);
        var user = $"cut-{model.Replace(".", "", StringComparison.Ordinal)}-{cutMode}";
        await app.SeedUserAsync(user, "pro");
        using var web = app.WebClient(user);
        var marker = Guid.NewGuid().ToString("N");
        var before = await app.Credits().GetBalanceAsync(user);

        using var response = await web.PostAsJsonAsync(Code, new
        {
            model,
            messages = new[] { new { role = "user", content = $"{marker} a story [[mock output_tokens=80 cut_after_tokens=23 cut_mode={cutMode}]]" } },
        });

        var events = await response.Content.ReadAsStringAsync();
        events.ShouldContain("\"type\":\"error\"");
        var sent = (await platform.MockUpstream.RequestsAsync(marker)).Single();
        sent.Outcome.ShouldBe("cut");
        sent.OutputTokens.ShouldBe(23);
        await app.AssertChargedOnceAsync(user, before.TotalUnits, app.PriceOf(model, sent));
    }


    private static long Worst(InferenceApiApplication app, string modelKey, object body)
    {
        var request = CodeRequest.Parse(JsonSerializer.SerializeToElement(body)).Request!;
        var model = app.Services.GetRequiredService<ModelCatalog>().Find(modelKey)!;
        return app.Services.GetRequiredService<ModelCall>().WorstCase(model, request.ToModelRequest(model));
    }
}
