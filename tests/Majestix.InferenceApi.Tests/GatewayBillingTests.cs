using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Majestix.GoogleCloud.Firestore;
using Majestix.InferenceApi.Credits;
using Majestix.InferenceApi.Tests.Credits;

namespace Majestix.InferenceApi.Tests;

/// <summary>The money invariants through the public endpoint, under concurrency and client disconnects.</summary>
[Collection(PlatformCollection.Name)]
public sealed class GatewayBillingTests(PlatformFixture platform)
{
    private static readonly Uri Code = new("/code", UriKind.Relative);

    [Fact]
    public async Task ConcurrentWorstCaseRequestsNeverOverspendAndTheLedgerMatchesTheBalance()
    {
        await using var app = new InferenceApiApplication(platform, settings: new Dictionary<string, string?> { ["RateLimits:PerIpPerMinute"] = "0" });
        // claude-haiku, max_tokens 4000: a worst case of about 28 credits. Fifty credits cover one, not three.
        const long allocation = 50_000_000;
        await app.Firestore.SetAsync("users/crowd", new Dictionary<string, FirestoreValue> { ["plan"] = "pro", ["allocation"] = allocation, ["created_at"] = DateTimeOffset.UtcNow });
        var (_, apiKey) = await app.SeedKeyAsync("crowd");
        using var client = app.KeyClient(apiKey);

        var responses = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => client.PostAsJsonAsync(Code, new
        {
            model = "claude-haiku",
            stream = false,
            max_tokens = 4000,
            messages = new[] { new { role = "user", content = "hello [[mock latency_ms=200]]" } },
        })));

        var served = responses.Count(r => r.StatusCode == HttpStatusCode.OK);
        served.ShouldBeInRange(1, 2);
        responses.Count(r => r.StatusCode == HttpStatusCode.PaymentRequired).ShouldBe(12 - served);
        var charged = 0m;
        foreach (var ok in responses.Where(r => r.StatusCode == HttpStatusCode.OK))
        {
            using var body = JsonDocument.Parse(await ok.Content.ReadAsStringAsync());
            charged += body.RootElement.GetProperty("credits_used").GetDecimal();
        }
        // Rebuilt from the ledger while the charges may still be on their way there (pending): counted once either way.
        using var refreshed = JsonDocument.Parse(await (await client.PostAsync(new Uri("/credits/refresh", UriKind.Relative), null)).Content.ReadAsStringAsync());
        var remaining = refreshed.RootElement.GetProperty("credits_remaining").GetDecimal();
        remaining.ShouldBeGreaterThanOrEqualTo(0m);
        remaining.ShouldBe(CreditUnits.ToCredits(allocation) - charged);
        await app.WaitForLedgerWritesAsync();
        var ledger = await app.LedgerAsync("crowd");
        CreditUnits.ToCredits(-ledger.Sum(e => e.PlanDelta + e.TopupDelta)).ShouldBe(charged);
        ledger.Count(e => e.Type == LedgerEntryTypes.Charge).ShouldBe(served);
    }

    [Fact]
    public async Task ClientDisconnectCancelsUpstreamAndChargesOnlyWhatWasProduced()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("leaver", "pro");
        var (_, apiKey) = await app.SeedKeyAsync("leaver");
        using var client = app.KeyClient(apiKey);
        using var before = JsonDocument.Parse(await (await client.PostAsync(new Uri("/credits/refresh", UriKind.Relative), null)).Content.ReadAsStringAsync());
        var start = before.RootElement.GetProperty("credits_remaining").GetDecimal();

        using var request = new HttpRequestMessage(HttpMethod.Post, Code)
        {
            Content = JsonContent.Create(new { model = "gpt-5-mini", messages = new[] { new { role = "user", content = "a long story [[mock output_tokens=400 tokens_per_second=40]]" } } }),
        };
        using var leave = new CancellationTokenSource();
        using (var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, leave.Token))
        {
            await using var stream = await response.Content.ReadAsStreamAsync();
            using var reader = new StreamReader(stream);
            var textEvents = 0;
            while (textEvents < 3 && await reader.ReadLineAsync() is { } line)
            {
                textEvents += line.Contains("\"type\":\"text\"", StringComparison.Ordinal) ? 1 : 0;
            }
            // The client goes away mid-stream, the way a closed editor or a dropped connection does.
            await leave.CancelAsync();
        }

        // The hold stays on the balance until the server notices the disconnect and settles: wait for the ledger entry.
        IReadOnlyList<LedgerEntry> ledger = [];
        for (var attempt = 0; attempt < 100 && ledger.Count == 0; attempt++)
        {
            await Task.Delay(100);
            ledger = await app.LedgerAsync("leaver");
        }
        ledger.Count.ShouldBe(1, "the disconnected call was settled");
        await app.WaitForLedgerWritesAsync();
        var charged = CreditUnits.ToCredits(-(ledger[0].PlanDelta + ledger[0].TopupDelta));
        using var after = JsonDocument.Parse(await (await client.PostAsync(new Uri("/credits/refresh", UriKind.Relative), null)).Content.ReadAsStringAsync());
        (start - after.RootElement.GetProperty("credits_remaining").GetDecimal()).ShouldBe(charged);
        var fullAnswer = CreditUnits.ToCredits(CreditPrice.ForTokens(0.25m, 2.0m, 0, 400));
        charged.ShouldBeGreaterThan(0m);
        charged.ShouldBeLessThan(fullAnswer / 2);
    }

    [Fact]
    public async Task QuietUpstreamGetsKeepAliveCommentsBeforeTheFirstToken()
    {
        await using var app = new InferenceApiApplication(platform, settings: new Dictionary<string, string?> { ["Streaming:KeepAliveSeconds"] = "1" });
        await app.SeedUserAsync("patient", "pro");
        using var web = app.WebClient("patient");

        using var response = await web.PostAsJsonAsync(Code, new { model = "gpt-5-mini", messages = new[] { new { role = "user", content = "think hard [[mock ttft_ms=2600]]" } } });
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n');

        var firstData = Array.FindIndex(lines, l => l.StartsWith("data: ", StringComparison.Ordinal));
        lines.Take(firstData).Count(l => l == ": keep-alive").ShouldBeGreaterThanOrEqualTo(2);
        lines.Last(l => l.StartsWith("data: ", StringComparison.Ordinal)).ShouldContain("\"type\":\"done\"");
    }
}
