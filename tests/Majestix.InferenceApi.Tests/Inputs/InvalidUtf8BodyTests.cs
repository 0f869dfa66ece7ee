using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Majestix.InferenceApi.Tests.Inputs;

/// <summary>
/// A JSON body with bytes that are not UTF-8 inside a string (0xC3 0x28: a lead byte without its continuation)
/// is malformed like any other, and so is an escaped lone surrogate (<c>\ud800</c>): 400 on every route that
/// reads a body, never a 500.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class InvalidUtf8BodyTests(PlatformFixture platform)
{
    public static TheoryData<string, string> Routes() => new()
    {
        { "/code", """{"model":"gpt-5-mini","stream":false,"messages":[{"role":"user","content":"caf<bad> au lait"}]}""" },
        { "/code", """{"model":"gpt-5-mini","stream":false,"messages":[{"role":"user","con<bad>tent":"hello"}]}""" },
        { "/code", """{"model":"gpt-5-mini","stream":false,"messages":[{"role":"user","content":"lone \ud800 surrogate"}]}""" },
        { "/chat", """{"model":"gpt-5-mini","stream":false,"messages":[{"role":"user","content":"caf<bad>"}]}""" },
        { "/v1/chat/completions", """{"model":"gpt-5-mini","messages":[{"role":"user","content":"caf<bad>"}]}""" },
        { "/v1/chat/completions", """{"model":"gpt-5-mini","messages":[{"role":"user","content":"lone \udc00"}]}""" },
        { "/v1/chat/completions", """{"model":"gpt-5-mini<bad>","messages":[{"role":"user","content":"hello"}]}""" },
        { "/internal/agent/code", """{"user_id":"utf8-owner","task_id":"task_1","stream":false,"model":"claude-sonnet","messages":[{"role":"user","content":"caf<bad>"}]}""" },
        { "/api-keys", """{"name":"laptop <bad>"}""" },
        { "/admin/credits/grant", """{"user_id":"utf8-owner","credits":5,"reason":"goodwill <bad>"}""" },
    };

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task InvalidUtf8InsideAJsonBodyIsABadRequest(string route, string json)
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("utf8-owner", "pro");
        var (_, apiKey) = await app.SeedKeyAsync("utf8-owner");
        using var client = route switch
        {
            "/v1/chat/completions" => app.KeyClient(apiKey),
            "/internal/agent/code" => app.BearerClient(platform.Issuer.Tokens.GoogleOidcToken(TestIdentityIssuer.ExecutorAccount, TestIdentityIssuer.InternalAudience, TimeSpan.FromHours(1))),
            "/admin/credits/grant" => app.WebClient("utf8-admin", admin: true),
            _ => app.WebClient("utf8-owner"),
        };
        using var content = new ByteArrayContent(WithInvalidUtf8(json));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, route) { Content = content };
        request.Headers.Add("Idempotency-Key", "utf8-" + Guid.NewGuid().ToString("N"));

        using var response = await client.SendAsync(request);

        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, body);
        using var document = JsonDocument.Parse(body);
        // The OpenAI-compatible route answers in OpenAI's error shape, every other route {"detail"}.
        var detail = route == "/v1/chat/completions" ? document.RootElement.GetProperty("error").GetProperty("message") : document.RootElement.GetProperty("detail");
        detail.GetString().ShouldNotBeNullOrWhiteSpace();
    }

    private static byte[] WithInvalidUtf8(string json)
    {
        var marker = json.IndexOf("<bad>", StringComparison.Ordinal);
        if (marker < 0)
        {
            return Encoding.UTF8.GetBytes(json);
        }
        var head = Encoding.UTF8.GetBytes(json[..marker]);
        var tail = Encoding.UTF8.GetBytes(json[(marker + "<bad>".Length)..]);
        return [.. head, 0xC3, 0x28, .. tail];
    }
}
