using System.Diagnostics;
using Majestix.InferenceApi.Identity;
using Majestix.InferenceApi.Inference.Providers;
using Majestix.Testing;

namespace Majestix.InferenceApi.Tests.Inference;

[Collection(MockUpstreamCollection.Name)]
public sealed class FallbackRunnerTests(MockUpstreamFixture upstream) : IAsyncLifetime
{
    public Task InitializeAsync() => upstream.ResetAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Theory]
    [InlineData(500, ProviderFailureKind.ServerError)]
    [InlineData(503, ProviderFailureKind.ServerError)]
    [InlineData(529, ProviderFailureKind.Overloaded)]
    [InlineData(429, ProviderFailureKind.RateLimited)]
    public async Task FailureBeforeOutputFallsBackToTheNextPlanModel(int status, ProviderFailureKind kind)
    {
        await using var host = ProviderTestHost.Create(upstream.BaseUrl);
        await upstream.SetModelAsync("claude-haiku-4-5", $$"""{"status":{{status}}}""");

        var run = host.Start("claude-haiku", Requests.Prompt("hello"), Plan.Free);
        var events = await Requests.ReadAllAsync(run);

        events[^1].ShouldBe(new Completed(FinishReason.Stop));
        (await upstream.RequestsAsync()).Select(entry => (entry.Model, entry.Status)).ShouldBe([("claude-haiku-4-5", status), ("gpt-5-mini", 200)]);
        run.ServedBy!.Key.ShouldBe("gpt-5-mini");
        run.FallbackFrom.ShouldBe("claude-haiku");
        run.Attempts.Select(attempt => (attempt.Model.Key, attempt.Failure?.Kind)).ShouldBe([("claude-haiku", kind), ("gpt-5-mini", (ProviderFailureKind?)null)]);
    }

    [Fact]
    public async Task FallbacksAreTriedInCatalogOrder()
    {
        await using var host = ProviderTestHost.Create(upstream.BaseUrl);
        await upstream.SetModelAsync("claude-sonnet-4-5", """{"status":500}""");
        await upstream.SetModelAsync("gpt-5", """{"status":502}""");

        var run = host.Start("claude-sonnet", Requests.Prompt("hello"), Plan.Pro);
        await Requests.ReadAllAsync(run);

        (await upstream.RequestsAsync()).Select(entry => entry.Model).ShouldBe(["claude-sonnet-4-5", "gpt-5", "google/gemini-3-pro-preview"]);
        run.ServedBy!.Key.ShouldBe("gemini-3-pro");
        run.FallbackFrom.ShouldBe("claude-sonnet");
    }

    [Theory]
    [InlineData(Plan.Free, new[] { "up-fast-a", "up-fast-c" })]
    [InlineData(Plan.Pro, new[] { "up-fast-a", "up-premium-b" })]
    public async Task FallbacksOutsideThePlanAreSkipped(Plan plan, string[] expectedModels)
    {
        var catalogPath = Path.Combine(Path.GetTempPath(), $"models-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(catalogPath, $$"""
            {"models":[
              {{Model("fast-a", "fast", "\"premium-b\",\"fast-c\"")}},
              {{Model("premium-b", "premium", "")}},
              {{Model("fast-c", "fast", "")}}
            ]}
            """);
        try
        {
            await using var host = ProviderTestHost.Create(upstream.BaseUrl, overrides: new Dictionary<string, string?> { ["Providers:CatalogPath"] = catalogPath });
            await upstream.SetModelAsync("up-fast-a", """{"status":500}""");

            await Requests.ReadAllAsync(host.Start("fast-a", Requests.Prompt("hello"), plan));

            (await upstream.RequestsAsync()).Select(entry => entry.Model).ShouldBe(expectedModels);
        }
        finally
        {
            File.Delete(catalogPath);
        }
    }

    private static string Model(string key, string tier, string fallbacks) => $$"""
        {"key":"{{key}}","provider":"openai","upstream_model":"up-{{key}}","context_window":1000,"max_output_tokens":100,"supports_tools":true,
         "input_usd_per_million":1,"output_usd_per_million":1,"tier":"{{tier}}","fallbacks":[{{fallbacks}}]}
        """;

    [Fact]
    public async Task TimeoutBeforeOutputFallsBack()
    {
        await using var host = ProviderTestHost.Create(upstream.BaseUrl, requestTimeoutSeconds: 1);
        await upstream.SetModelAsync("claude-haiku-4-5", """{"latency_ms":10000}""");
        var stopwatch = Stopwatch.StartNew();

        var run = host.Start("claude-haiku", Requests.Prompt("hello"), Plan.Free);
        await Requests.ReadAllAsync(run);

        stopwatch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(5));
        (await upstream.RequestsAsync()).Select(entry => entry.Model).ShouldBe(["claude-haiku-4-5", "gpt-5-mini"]);
        run.Attempts[0].Failure!.Kind.ShouldBe(ProviderFailureKind.Timeout);
        run.ServedBy!.Key.ShouldBe("gpt-5-mini");
    }

    [Fact]
    public async Task RefusedConnectionFallsBack()
    {
        var closedPort = FreePort.Next();
        await using var host = ProviderTestHost.Create(upstream.BaseUrl, overrides: new Dictionary<string, string?>
        {
            ["Providers:Anthropic:BaseUrl"] = $"http://127.0.0.1:{closedPort}",
        });

        var run = host.Start("claude-haiku", Requests.Prompt("hello"), Plan.Free);
        await Requests.ReadAllAsync(run);

        run.Attempts[0].Failure!.Kind.ShouldBe(ProviderFailureKind.ConnectionFailed);
        run.ServedBy!.Key.ShouldBe("gpt-5-mini");
    }

    [Theory]
    [InlineData(400, ProviderFailureKind.InvalidRequest, 400)]
    [InlineData(401, ProviderFailureKind.Refused, 502)]
    [InlineData(404, ProviderFailureKind.Refused, 502)]
    public async Task ClientErrorsDoNotFallBackAndAreSanitized(int status, ProviderFailureKind kind, int clientStatus)
    {
        await using var host = ProviderTestHost.Create(upstream.BaseUrl);
        await upstream.SetModelAsync("gpt-5-mini", $$"""{"status":{{status}}}""");

        var run = host.Start("gpt-5-mini", Requests.Prompt("hello"), Plan.Free);
        var failure = await Should.ThrowAsync<ProviderFailureException>(() => Requests.ReadAllAsync(run));

        failure.Kind.ShouldBe(kind);
        failure.IsFallbackEligible.ShouldBeFalse();
        failure.ClientStatusCode.ShouldBe(clientStatus);
        failure.UpstreamStatus.ShouldBe(status);
        failure.Message.ShouldNotContain("mock upstream");
        failure.Message.ShouldNotContain(ProviderTestHost.OpenAIKey);
        (await upstream.RequestsAsync()).ShouldHaveSingleItem();
        run.ServedBy.ShouldBeNull();
        run.Usage.ShouldBeNull();
    }

    [Fact]
    public async Task ModelOutsideThePlanIsRefusedBeforeAnyUpstreamCall()
    {
        await using var host = ProviderTestHost.Create(upstream.BaseUrl);

        Should.Throw<InvalidOperationException>(() => host.Start("claude-opus", Requests.Prompt("hello"), Plan.Free))
            .Message.ShouldContain("'claude-opus' is not available on plan free");
        (await upstream.RequestsAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task WhenEveryAllowedModelFailsTheLastFailureIsThrown()
    {
        await using var host = ProviderTestHost.Create(upstream.BaseUrl);
        var request = Requests.Prompt($"hello [[mock status=503 fail_key={Guid.NewGuid():N}]]");

        var run = host.Start("claude-haiku", request, Plan.Free);
        var failure = await Should.ThrowAsync<ProviderFailureException>(() => Requests.ReadAllAsync(run));

        failure.Kind.ShouldBe(ProviderFailureKind.ServerError);
        failure.ClientStatusCode.ShouldBe(503);
        run.Attempts.Select(attempt => attempt.Model.Key).ShouldBe(["claude-haiku", "gpt-5-mini", "gemini-3-flash", "deepseek-v3.2"]);
        (await upstream.RequestsAsync()).Count.ShouldBe(4);
    }

    [Theory]
    [InlineData("claude-haiku", "abort")]
    [InlineData("claude-haiku", "eof")]
    [InlineData("claude-haiku", "error")]
    [InlineData("gpt-5-mini", "abort")]
    [InlineData("gpt-5-mini", "eof")]
    [InlineData("gpt-5-mini", "error")]
    public async Task FailureAfterOutputEndsTheStreamWithCountedUsageAndNoFallback(string modelKey, string cutMode)
    {
        await using var host = ProviderTestHost.Create(upstream.BaseUrl);
        var request = Requests.Prompt($"Tell me a story. [[mock cut_after_tokens=5 cut_mode={cutMode}]]");

        var run = host.Start(modelKey, request, Plan.Free);
        var events = await Requests.ReadAllAsync(run);

        var text = string.Concat(events.OfType<TextDelta>().Select(delta => delta.Text));
        events.OfType<TextDelta>().Count().ShouldBe(5);
        var failed = events[^1].ShouldBeOfType<StreamFailed>();
        failed.Failure.IsFallbackEligible.ShouldBeTrue();
        var usage = events[^2].ShouldBeOfType<Usage>();
        usage.Source.ShouldBe(UsageSource.Counted);
        var logged = (await upstream.RequestsAsync()).ShouldHaveSingleItem();
        logged.Outcome.ShouldBe("cut");
        usage.OutputTokens.ShouldBe(host.Counter.Count(text));
        usage.OutputTokens.ShouldBe(logged.OutputTokens);
        // The counted input is o200k's count of the request with its framing: never below what the mock billed for its text.
        usage.InputTokens.ShouldBe(host.Counter.CountInput(request));
        usage.InputTokens.ShouldBeGreaterThanOrEqualTo(logged.InputTokens);
        run.Usage.ShouldBe(usage);
        run.Failure.ShouldBe(failed.Failure);
        run.ServedBy!.Key.ShouldBe(modelKey);
        run.FallbackFrom.ShouldBeNull();
    }

    [Fact]
    public async Task CutToolCallIsCountedFromTheArgumentsReceived()
    {
        await using var host = ProviderTestHost.Create(upstream.BaseUrl);
        var request = Requests.Prompt("Weather? [[mock thinking tool_call=get_weather cut_after_tokens=14]]", maxTokens: 4096, thinking: true, tools: Requests.Weather);

        var run = host.Start("claude-haiku", request, Plan.Free);
        var events = await Requests.ReadAllAsync(run);

        events.OfType<ThinkingDelta>().Count().ShouldBe(12);
        events.OfType<ToolUse>().ShouldBeEmpty();
        events[^1].ShouldBeOfType<StreamFailed>();
        var logged = (await upstream.RequestsAsync()).ShouldHaveSingleItem();
        // 12 thinking tokens, then 2 tokens of tool arguments that never formed a complete call.
        events.OfType<Usage>().Single().OutputTokens.ShouldBe(logged.OutputTokens);
        logged.OutputTokens.ShouldBe(14);
    }

    [Fact]
    public async Task CancellingStopsTheUpstreamReadAndKeepsUsageSoFar()
    {
        await using var host = ProviderTestHost.Create(upstream.BaseUrl);
        using var cancellation = new CancellationTokenSource();
        var request = Requests.Prompt("Long story. [[mock tokens_per_second=20 output_tokens=400]]");
        var run = host.Start("claude-haiku", request, Plan.Free, cancellation.Token);
        var received = 0;
        var stopwatch = Stopwatch.StartNew();

        await Should.ThrowAsync<OperationCanceledException>(async () =>
        {
            await foreach (var modelEvent in run.Events)
            {
                if (modelEvent is TextDelta && ++received == 3)
                {
                    await cancellation.CancelAsync();
                }
            }
        });

        // 400 tokens at 20/s would take 20 s; the read stopped right after the cancel.
        stopwatch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(3));
        received.ShouldBeGreaterThanOrEqualTo(3);
        var logged = (await upstream.RequestsAsync()).ShouldHaveSingleItem();
        run.Usage.ShouldBe(new Usage(host.Counter.CountInput(request), received, UsageSource.Counted));
        run.Usage!.InputTokens.ShouldBeGreaterThanOrEqualTo(logged.InputTokens);
    }
}
