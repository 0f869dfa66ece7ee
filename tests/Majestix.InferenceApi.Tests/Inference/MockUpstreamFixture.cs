using System.Net.Http.Json;
using System.Text.Json;
using Majestix.Testing;

namespace Majestix.InferenceApi.Tests.Inference;

[CollectionDefinition(Name)]
public sealed class MockUpstreamCollection : ICollectionFixture<MockUpstreamFixture>
{
    // Tests in this collection share one upstream and script it per model, so they run one at a time.
    public const string Name = "Mock upstream";
}

/// <summary>
/// The mock model upstream (tools/Majestix.MockUpstream) as a real process on a free loopback port,
/// started from its built dll. <see cref="ResetAsync"/> clears behaviours, counters and the request log.
/// </summary>
public sealed class MockUpstreamFixture : IAsyncLifetime
{
    private ExternalProcess? _process;

    public Uri BaseUrl { get; private set; } = null!;

    public HttpClient Control { get; } = new();

    public async Task InitializeAsync()
    {
        var port = FreePort.Next();
        BaseUrl = new Uri($"http://127.0.0.1:{port}");
        Control.BaseAddress = BaseUrl;
        _process = ExternalProcess.Start("dotnet", [ToolDll.Locate("Majestix.MockUpstream", typeof(MockUpstreamFixture).Assembly), "--urls", BaseUrl.ToString().TrimEnd('/')], "mock upstream");
        await _process.WaitUntilReadyAsync(
            async token => (await Control.GetAsync(new Uri("/health", UriKind.Relative), token)).IsSuccessStatusCode,
            TimeSpan.FromSeconds(30));
    }

    public Task DisposeAsync()
    {
        _process?.Dispose();
        Control.Dispose();
        return Task.CompletedTask;
    }

    public async Task ResetAsync() =>
        (await Control.PostAsync(new Uri("/_mock/reset", UriKind.Relative), null)).EnsureSuccessStatusCode();

    /// <summary>Sets the behaviour of one upstream model id until the next reset.</summary>
    public async Task SetModelAsync(string upstreamModel, string knobsJson)
    {
        using var content = new StringContent(knobsJson, System.Text.Encoding.UTF8, "application/json");
        (await Control.PutAsync(new Uri($"/_mock/models/{upstreamModel}", UriKind.Relative), content)).EnsureSuccessStatusCode();
    }

    /// <summary>The request log, oldest first.</summary>
    public async Task<IReadOnlyList<MockRequest>> RequestsAsync()
    {
        using var document = JsonDocument.Parse(await Control.GetStringAsync(new Uri("/_mock/requests", UriKind.Relative)));
        return [.. document.RootElement.EnumerateArray().Select(MockRequest.From)];
    }

    /// <summary>The requests whose body holds <paramref name="marker"/> (a test's own), oldest first.</summary>
    public async Task<IReadOnlyList<MockRequest>> RequestsAsync(string marker) =>
        [.. (await RequestsAsync()).Where(request => request.Body.Contains(marker, StringComparison.Ordinal))];
}

public sealed record MockRequest(long Seq, string Path, string? Model, bool Stream, int Status, string Outcome, int InputTokens, int OutputTokens,
    string? Authorization, string? ToolCall, string Body, string? AcceptEncoding, string? Traceparent)
{
    public static MockRequest From(JsonElement entry)
    {
        var headers = entry.GetProperty("headers");
        return new MockRequest(
            entry.GetProperty("seq").GetInt64(),
            entry.GetProperty("path").GetString()!,
            entry.TryGetProperty("model", out var model) ? model.GetString() : null,
            entry.GetProperty("stream").GetBoolean(),
            entry.GetProperty("status").GetInt32(),
            entry.GetProperty("outcome").GetString()!,
            entry.GetProperty("input_tokens").GetInt32(),
            entry.GetProperty("output_tokens").GetInt32(),
            headers.TryGetProperty("authorization", out var authorization) ? authorization.GetString() : null,
            entry.TryGetProperty("tool_call", out var toolCall) && toolCall.ValueKind == JsonValueKind.String ? toolCall.GetString() : null,
            entry.TryGetProperty("body", out var body) && body.ValueKind == JsonValueKind.String ? body.GetString()! : "",
            headers.TryGetProperty("accept-encoding", out var acceptEncoding) ? acceptEncoding.GetString() : null,
            headers.TryGetProperty("traceparent", out var traceparent) ? traceparent.GetString() : null);
    }
}
