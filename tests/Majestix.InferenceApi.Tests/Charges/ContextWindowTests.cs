using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Majestix.InferenceApi.Credits;
using Majestix.InferenceApi.Tests.Credits;

namespace Majestix.InferenceApi.Tests.Charges;

[Collection(PlatformCollection.Name)]
public sealed class ContextWindowTests(PlatformFixture platform)
{
    private static readonly Uri Code = new("/code", UriKind.Relative);

    [Fact]
    public async Task InputBeyondTheContextWindowIsRefusedWith400BeforeAnyHold()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("windy", "pro");
        var (_, apiKey) = await app.SeedKeyAsync("windy");
        using var key = app.KeyClient(apiKey);
        using var web = app.WebClient("windy");
        var marker = Guid.NewGuid().ToString("N");
        // deepseek-v3.2: a 163,840-token window and 65,536 output tokens at most; " a" is one o200k token.
        var prompt = new StringBuilder(marker).Insert(marker.Length, " a", 100_000).ToString();
        var body = new { model = "deepseek-v3.2", stream = false, max_tokens = 65_536, messages = new[] { new { role = "user", content = prompt } } };

        foreach (var client in new[] { key, web, key })
        {
            using var response = await client.PostAsJsonAsync(Code, body);
            response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, await response.Content.ReadAsStringAsync());
            using var detail = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            detail.RootElement.GetProperty("detail").GetString()!.ShouldContain("163840-token context window");
        }

        (await app.Redis().HashLengthAsync(CreditKeys.Holds("windy"))).ShouldBe(0);
        (await app.Credits().GetBalanceAsync("windy")).TotalUnits.ShouldBe(CreditUnits.FromWholeCredits(55_000));
        (await platform.MockUpstream.RequestsAsync()).ShouldNotContain(r => r.Body.Contains(marker, StringComparison.Ordinal));

        // The same input with room for the answer is served.
        using var fits = await web.PostAsJsonAsync(Code, body with { max_tokens = 1_000 });
        fits.StatusCode.ShouldBe(HttpStatusCode.OK, await fits.Content.ReadAsStringAsync());
    }
}
