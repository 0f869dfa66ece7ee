using System.Net;
using System.Text.Json;
using Majestix.InferenceApi.Identity;

namespace Majestix.InferenceApi.Tests.Identity;

/// <summary>Address limits and the failed-login lockout count per IPv4 address and per IPv6 /64.</summary>
[Collection(PlatformCollection.Name)]
public sealed class AddressScopeTests(PlatformFixture platform)
{
    private static readonly Uri Me = new("/me", UriKind.Relative);

    private static readonly Dictionary<string, string?> BehindOneProxy = new() { ["RateLimits:TrustedProxyCount"] = "1", ["RateLimits:PerIpPerMinute"] = "3" };

    [Theory]
    [InlineData("203.0.113.7", "203.0.113.7")]
    [InlineData("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:2::", "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64")]
    [InlineData("::ffff:203.0.113.7", "203.0.113.7")]
    [InlineData("::1", "::/64")]
    [InlineData("unknown", "unknown")]
    public void LimitScopeIsTheIPv4AddressOrTheIPv6Slash64(string address, string scope) =>
        ClientIp.LimitScope(address).ShouldBe(scope);

    [Fact]
    public async Task IPv6AddressesInOneSlash64ShareTheAddressLimitAndOtherSlash64sDoNot()
    {
        await using var app = new InferenceApiApplication(platform, settings: BehindOneProxy);
        var (_, apiKey) = await app.SeedKeyAsync("six");
        using var client = app.KeyClient(apiKey);

        var sameNetwork = new List<HttpResponseMessage>();
        foreach (var address in new[] { "2001:db8:aa:1::1", "2001:db8:aa:1::2", "2001:db8:aa:1:ffff:ffff:ffff:fffe", "2001:db8:aa:1:1234::9" })
        {
            sameNetwork.Add(await GetFromAsync(client, address));
        }
        using var otherNetwork = await GetFromAsync(client, "2001:db8:aa:2::1");

        sameNetwork.Take(3).ShouldAllBe(r => r.StatusCode == HttpStatusCode.OK);
        sameNetwork[3].StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
        using var body = JsonDocument.Parse(await sameNetwork[3].Content.ReadAsStringAsync());
        body.RootElement.GetProperty("detail").GetProperty("code").GetString().ShouldBe("IP_RATE_LIMITED");
        otherNetwork.StatusCode.ShouldBe(HttpStatusCode.OK);
        sameNetwork.ForEach(r => r.Dispose());
    }

    [Fact]
    public async Task IPv4MappedAddressesCountAsTheIPv4AddressAndIPv4StaysPerAddress()
    {
        await using var app = new InferenceApiApplication(platform, settings: BehindOneProxy);
        var (_, apiKey) = await app.SeedKeyAsync("four");
        using var client = app.KeyClient(apiKey);

        (await GetFromAsync(client, "::ffff:198.51.100.20")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await GetFromAsync(client, "198.51.100.20")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await GetFromAsync(client, "::ffff:198.51.100.20")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await GetFromAsync(client, "198.51.100.20")).StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
        (await GetFromAsync(client, "198.51.100.21")).StatusCode.ShouldBe(HttpStatusCode.OK, "the neighbouring IPv4 address has its own limit");
    }

    [Fact]
    public async Task FailedLoginsFromOneSlash64BlockTheWholeSlash64Only()
    {
        await using var app = new InferenceApiApplication(platform, settings: new Dictionary<string, string?> { ["RateLimits:TrustedProxyCount"] = "1" });
        var (_, apiKey) = await app.SeedKeyAsync("locked");
        using var bad = app.KeyClient("inf_wrongwrongwrongwrongwrongwrongwrongwrong00");
        using var good = app.KeyClient(apiKey);

        for (var i = 0; i < 10; i++)
        {
            (await GetFromAsync(bad, $"2001:db8:bb:1::{i + 1:x}")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        }
        using var sameNetwork = await GetFromAsync(good, "2001:db8:bb:1:abcd::1");
        using var otherNetwork = await GetFromAsync(good, "2001:db8:bb:2::1");

        sameNetwork.StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
        using var body = JsonDocument.Parse(await sameNetwork.Content.ReadAsStringAsync());
        body.RootElement.GetProperty("detail").GetProperty("retry_after").GetInt32().ShouldBeInRange(890, 900);
        otherNetwork.StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    private static Task<HttpResponseMessage> GetFromAsync(HttpClient client, string address)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, Me);
        request.Headers.Add("X-Forwarded-For", address);
        return client.SendAsync(request);
    }
}
