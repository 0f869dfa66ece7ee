using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.ML.Tokenizers;

namespace Majestix.MockUpstream.Tests;

// The mock on a real Kestrel socket (dynamic port): SDKs, SSE and cut connections behave as they
// will against the gateway. One instance per test class; tests use unique model names.
public sealed class MockUpstreamApp : WebApplicationFactory<Program>
{
    public const string ConfiguredModel = "configured-model";

    public MockUpstreamApp()
    {
        // The port goes in through the host's URLs: UseKestrel(0) rewrites the server's addresses after
        // the app has started binding them, a race that sometimes throws (dotnet/aspnetcore#67714).
        UseKestrel();
        StartServer();
        Http = CreateClient();
        Http.Timeout = TimeSpan.FromSeconds(30);
    }

    public static Tokenizer Tokenizer { get; } = TiktokenTokenizer.CreateForEncoding("o200k_base");

    public HttpClient Http { get; }

    public Uri BaseAddress => Http.BaseAddress!;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseUrls("http://127.0.0.1:0");
        builder.UseSetting($"MockUpstream:Models:{ConfiguredModel}:output_tokens", "4");
        builder.UseSetting($"MockUpstream:Models:{ConfiguredModel}:thinking_tokens", "2");
        builder.UseSetting("MockUpstream:Defaults:output_tokens", "16");
    }

    public static string UniqueModel(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];

    public Task<HttpResponseMessage> PostJsonAsync(string path, object body, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        };
        foreach (var (name, value) in headers)
        {
            request.Headers.Add(name, value);
        }
        return Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    public async Task<JsonArray> RequestsForAsync(string model)
    {
        var all = await Http.GetFromJsonAsync<JsonArray>("/_mock/requests");
        return [.. all!.Where(e => e!["model"]?.GetValue<string>() == model).Select(e => e!.DeepClone())];
    }

    public static object OpenAiBody(string model, string prompt, bool stream = false, int? maxTokens = null, object[]? tools = null) => new Dictionary<string, object?>
    {
        ["model"] = model,
        ["messages"] = new object[] { new { role = "user", content = prompt } },
        ["stream"] = stream,
        ["stream_options"] = stream ? new { include_usage = true } : null,
        ["max_tokens"] = maxTokens,
        ["tools"] = tools,
    }.Where(p => p.Value is not null).ToDictionary(p => p.Key, p => p.Value);

    public static object AnthropicBody(string model, string prompt, bool stream = false, int maxTokens = 1024) => new
    {
        model,
        max_tokens = maxTokens,
        stream,
        messages = new object[] { new { role = "user", content = prompt } },
    };
}
