using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Majestix.InferenceApi.Tests;

/// <summary>
/// A streamed call whose every model fails before any output is answered with an error status and an
/// error body, exactly as the same call without streaming, so clients can retry it by status. The
/// headers wait for the first event; only a failure after the first keep-alive is an error event.
/// The failure is scripted by a prompt directive, which every fallback receives as well.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class StreamingFailureStatusTests(PlatformFixture platform)
{
    [Theory]
    [InlineData("/code", 503)]
    [InlineData("/code", 429)]
    [InlineData("/chat", 503)]
    [InlineData("/chat", 429)]
    public async Task EveryModelFailingBeforeOutputIsAnErrorStatusWithADetailBodyNotAStream(string endpoint, int upstreamStatus)
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("sf-detail", "pro");
        var (_, apiKey) = await app.SeedKeyAsync("sf-detail");
        using var client = app.KeyClient(apiKey);
        var prompt = $"hello [[mock status={upstreamStatus}]]";

        using var streamed = await client.PostAsJsonAsync(endpoint, Body(prompt, stream: true));
        using var whole = await client.PostAsJsonAsync(endpoint, Body(prompt, stream: false));

        var body = await streamed.Content.ReadAsStringAsync();
        streamed.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable, body);
        streamed.Content.Headers.ContentType!.MediaType.ShouldBe("application/json");
        body.ShouldNotContain("data:");
        using var json = JsonDocument.Parse(body);
        json.RootElement.EnumerateObject().Select(p => p.Name).ShouldBe(["detail"]);
        json.RootElement.GetProperty("detail").GetString().ShouldNotBeNullOrEmpty();
        // The same failure without streaming: same status, same body.
        whole.StatusCode.ShouldBe(streamed.StatusCode);
        (await whole.Content.ReadAsStringAsync()).ShouldBe(body);
    }

    [Theory]
    [InlineData(503)]
    [InlineData(429)]
    public async Task EveryModelFailingBeforeOutputOnTheOpenAiSurfaceIsAnOpenAiErrorStatus(int upstreamStatus)
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("sf-openai", "pro");
        var (_, apiKey) = await app.SeedKeyAsync("sf-openai");
        using var client = app.KeyClient(apiKey);
        var prompt = $"hello [[mock status={upstreamStatus}]]";

        using var streamed = await client.PostAsJsonAsync("/v1/chat/completions", Body(prompt, stream: true));
        using var whole = await client.PostAsJsonAsync("/v1/chat/completions", Body(prompt, stream: false));

        var body = await streamed.Content.ReadAsStringAsync();
        streamed.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable, body);
        streamed.Content.Headers.ContentType!.MediaType.ShouldBe("application/json");
        body.ShouldNotContain("data:");
        using var json = JsonDocument.Parse(body);
        var error = json.RootElement.GetProperty("error");
        error.GetProperty("type").GetString().ShouldBe("api_error");
        error.GetProperty("code").GetString().ShouldBe("upstream_error");
        error.GetProperty("message").GetString().ShouldNotBeNullOrEmpty();
        whole.StatusCode.ShouldBe(streamed.StatusCode);
        (await whole.Content.ReadAsStringAsync()).ShouldBe(body);
    }

    [Fact]
    public async Task AnUpstreamTimeoutBeforeOutputIsA504AsWithoutStreaming()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("sf-timeout", "pro");
        using var web = app.WebClient("sf-timeout");

        using var response = await web.PostAsJsonAsync("/code", Body("hello [[mock status=504]]", stream: true));

        response.StatusCode.ShouldBe(HttpStatusCode.GatewayTimeout, await response.Content.ReadAsStringAsync());
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        json.RootElement.GetProperty("detail").GetString().ShouldNotBeNullOrEmpty();
    }

    [Fact]
    public async Task AFailureAfterTheFirstKeepAliveIsAnErrorEventOnTheOpenStream()
    {
        // One-second keep-alives, and each model answers its error after 1.5 s: the stream has started by then.
        await using var app = new InferenceApiApplication(platform, settings: new Dictionary<string, string?> { ["Streaming:KeepAliveSeconds"] = "1" });
        await app.SeedUserAsync("sf-late", "pro");
        using var web = app.WebClient("sf-late");

        using var response = await web.PostAsJsonAsync("/code", Body("hello [[mock status=503 latency_ms=1500]]", stream: true));

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("text/event-stream");
        var text = await response.Content.ReadAsStringAsync();
        text.ShouldStartWith(": keep-alive\n\n");
        var error = JsonDocument.Parse(text.Split('\n').Single(line => line.StartsWith("data: ", StringComparison.Ordinal))[6..]).RootElement;
        error.GetProperty("type").GetString().ShouldBe("error");
        error.GetProperty("detail").GetString().ShouldNotBeNullOrEmpty();
    }

    [Fact]
    public async Task AHealthyStreamStillStartsWithItsFirstTokenBeforeTheModelFinishes()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("sf-healthy", "pro");
        using var web = app.WebClient("sf-healthy");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/code")
        {
            Content = JsonContent.Create(Body("a story [[mock output_tokens=30 tokens_per_second=10]]", stream: true)),
        };

        using var response = await web.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("text/event-stream");
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var first = await reader.ReadLineAsync();
        first.ShouldNotBeNull();
        first.ShouldStartWith("data: ");
        JsonDocument.Parse(first[6..]).RootElement.GetProperty("type").GetString().ShouldBe("text");
        var rest = await reader.ReadToEndAsync();
        rest.ShouldContain("\"type\":\"done\"");
    }

    // The same body serves /code, /chat and /v1/chat/completions.
    private static object Body(string prompt, bool stream) =>
        new { model = "gpt-5-mini", stream, messages = new[] { new { role = "user", content = prompt } } };
}
