using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Majestix.InferenceApi.Credits;
using Majestix.InferenceApi.Tests.Credits;

using Majestix.InferenceApi.Tests.OpenAiCompatible;

namespace Majestix.InferenceApi.Tests.Inputs;

/// <summary>
/// Every endpoint has a body limit (RequestLimits: 2 MiB for model calls, 16 KiB elsewhere), answered 413
/// <c>{"detail"}</c> before the body is parsed or the caller's credits are touched, whether the body declares its
/// length or comes chunked. Real Kestrel on loopback, so chunked bodies arrive as clients send them.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class RequestBodyLimitTests(PlatformFixture platform)
{
    private const int SmallModelCallBytes = 4_096;
    private const int SmallDefaultBytes = 1_024;

    private InferenceApiApplication Start(bool smallLimits = false)
    {
        var app = new InferenceApiApplication(platform, settings: smallLimits
            ? new Dictionary<string, string?>
            {
                ["RequestLimits:ModelCallBytes"] = SmallModelCallBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["RequestLimits:DefaultBytes"] = SmallDefaultBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            }
            : null);
        app.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        app.StartServer();
        return app;
    }

    public static TheoryData<string, int> RoutesAndDefaultLimits() => new()
    {
        { "/code", 2 * 1024 * 1024 },
        { "/chat", 2 * 1024 * 1024 },
        { "/v1/chat/completions", 2 * 1024 * 1024 },
        { "/internal/agent/code", 2 * 1024 * 1024 },
        { "/api-keys", 16 * 1024 },
        { "/admin/credits/grant", 16 * 1024 },
    };

    [Theory]
    [MemberData(nameof(RoutesAndDefaultLimits))]
    public async Task ABodyDeclaredOverItsEndpointsLimitIs413(string route, int limit)
    {
        await using var app = Start();
        await app.SeedUserAsync("limit-owner", "pro");
        using var client = await ClientForAsync(app, route);

        using var response = await client.SendAsync(Post(route, ModelCall(limit + 1), chunked: false));

        await ShouldBeTooLargeAsync(response, limit);
    }

    [Theory]
    [InlineData("/code", SmallModelCallBytes)]
    [InlineData("/v1/chat/completions", SmallModelCallBytes)]
    [InlineData("/internal/agent/code", SmallModelCallBytes)]
    [InlineData("/api-keys", SmallDefaultBytes)]
    [InlineData("/admin/credits/grant", SmallDefaultBytes)]
    public async Task AChunkedBodyOverItsEndpointsLimitIs413(string route, int limit)
    {
        await using var app = Start(smallLimits: true);
        await app.SeedUserAsync("limit-owner", "pro");
        using var client = await ClientForAsync(app, route);

        using var response = await client.SendAsync(Post(route, ModelCall(limit + 1), chunked: true));

        await ShouldBeTooLargeAsync(response, limit);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ABodyOfExactlyTheLimitIsAccepted(bool chunked)
    {
        await using var app = Start(smallLimits: true);
        await app.SeedUserAsync("limit-owner", "pro");
        var (_, apiKey) = await app.SeedKeyAsync("limit-owner");
        using var key = app.KeyClient(apiKey);
        using var web = app.WebClient("limit-owner");

        using var call = await key.SendAsync(Post("/code", ModelCall(SmallModelCallBytes), chunked));
        using var created = await web.SendAsync(Post("/api-keys", Padded("""{"name":"laptop"}""", SmallDefaultBytes), chunked));

        call.StatusCode.ShouldBe(HttpStatusCode.OK, await call.Content.ReadAsStringAsync());
        created.StatusCode.ShouldBe(HttpStatusCode.OK, await created.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ATooLargeModelCallHoldsNothingAndChargesNothing(bool chunked)
    {
        await using var app = Start(smallLimits: true);
        await app.SeedUserAsync("limit-payer", "pro");
        var (_, apiKey) = await app.SeedKeyAsync("limit-payer");
        using var key = app.KeyClient(apiKey);
        var before = await OpenAiCompatibleApiTests.RemainingAsync(key);
        // A call first, so this key has just been verified: its next /code call would hold credits in the gate's trip.
        using (var first = await key.SendAsync(Post("/code", ModelCall(1_000), chunked: false)))
        {
            first.StatusCode.ShouldBe(HttpStatusCode.OK);
        }
        await app.WaitForSettlesAsync();
        var afterFirst = await OpenAiCompatibleApiTests.RemainingAsync(key);
        var holdsAfterFirst = await app.Redis.HashLengthAsync(CreditKeys.Holds("limit-payer"));

        foreach (var route in new[] { "/code", "/v1/chat/completions" })
        {
            using var response = await key.SendAsync(Post(route, ModelCall(SmallModelCallBytes + 1), chunked));
            await ShouldBeTooLargeAsync(response, SmallModelCallBytes);
        }

        afterFirst.ShouldBeLessThan(before);
        (await app.Redis.HashLengthAsync(CreditKeys.Holds("limit-payer"))).ShouldBe(holdsAfterFirst);
        (await OpenAiCompatibleApiTests.RemainingAsync(key)).ShouldBe(afterFirst);
    }

    private async Task<HttpClient> ClientForAsync(InferenceApiApplication app, string route)
    {
        switch (route)
        {
            case "/v1/chat/completions":
            case "/code":
                var (_, apiKey) = await app.SeedKeyAsync("limit-owner");
                return app.KeyClient(apiKey);
            case "/internal/agent/code":
                return app.BearerClient(platform.Issuer.Tokens.GoogleOidcToken(TestIdentityIssuer.ExecutorAccount, TestIdentityIssuer.InternalAudience, TimeSpan.FromHours(1)));
            case "/admin/credits/grant":
                return app.WebClient("limit-admin", admin: true);
            default:
                return app.WebClient("limit-owner");
        }
    }

    /// <summary>A valid model call for every model-call route, padded with whitespace to exactly <paramref name="bytes"/>.</summary>
    private static byte[] ModelCall(int bytes) =>
        Padded("""{"user_id":"limit-owner","task_id":"task_1","stream":false,"model":"gpt-5-mini","messages":[{"role":"user","content":"hello"}]}""", bytes);

    private static byte[] Padded(string json, int bytes)
    {
        var body = Encoding.UTF8.GetBytes(json);
        return [.. body, .. Enumerable.Repeat((byte)' ', bytes - body.Length)];
    }

    private static HttpRequestMessage Post(string route, byte[] body, bool chunked)
    {
        HttpContent content = chunked ? new ChunkedContent(body) : new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var request = new HttpRequestMessage(HttpMethod.Post, route) { Content = content };
        request.Headers.Add("Idempotency-Key", "limit-" + Guid.NewGuid().ToString("N"));
        return request;
    }

    private static async Task ShouldBeTooLargeAsync(HttpResponseMessage response, int limit)
    {
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.RequestEntityTooLarge, text);
        using var body = JsonDocument.Parse(text);
        body.RootElement.GetProperty("detail").GetString()!.ShouldBe($"Request body too large. This endpoint accepts at most {limit} bytes.");
    }

    /// <summary>A body sent without a Content-Length (Transfer-Encoding: chunked), in pieces.</summary>
    private sealed class ChunkedContent(byte[] body) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            for (var offset = 0; offset < body.Length; offset += 1_000)
            {
                await stream.WriteAsync(body.AsMemory(offset, Math.Min(1_000, body.Length - offset)));
                await stream.FlushAsync();
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
