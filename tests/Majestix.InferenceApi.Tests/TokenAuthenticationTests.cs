using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Majestix.DevIdentity;

namespace Majestix.InferenceApi.Tests;

[Collection(PlatformCollection.Name)]
public sealed class TokenAuthenticationTests(PlatformFixture platform)
{
    private static readonly Uri Me = new("/me", UriKind.Relative);
    private static readonly Uri InternalMe = new("/internal/me", UriKind.Relative);

    private TestIdentityIssuer Issuer => platform.Issuer;

    [Fact]
    public async Task FirebaseTokenWithAppCheckAuthenticatesWithThePlanFromFirestore()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("web-pro", "pro");
        using var web = app.WebClient("web-pro");

        using var me = JsonDocument.Parse(await web.GetStringAsync(Me));

        me.RootElement.GetProperty("source").GetString().ShouldBe("web");
        me.RootElement.GetProperty("user_id").GetString().ShouldBe("web-pro");
        me.RootElement.GetProperty("plan").GetString().ShouldBe("pro");
        me.RootElement.GetProperty("is_admin").GetBoolean().ShouldBeFalse();
    }

    [Fact]
    public async Task AdminClaimMarksAnAdmin()
    {
        await using var app = new InferenceApiApplication(platform);
        using var web = app.WebClient("root", admin: true);

        using var me = JsonDocument.Parse(await web.GetStringAsync(Me));

        me.RootElement.GetProperty("is_admin").GetBoolean().ShouldBeTrue();
        me.RootElement.GetProperty("plan").GetString().ShouldBe("free");
    }

    public static TheoryData<string, string> RejectedIdTokens => new()
    {
        { "forged", "signed by a key nobody published" },
        { "expired", "expired ten minutes ago" },
        { "wrong-audience", "minted for another Firebase project" },
        { "wrong-issuer", "from another issuer" },
        { "future-iat", "issued in the future" },
        { "no-kid", "without a key id" },
        { "oidc", "a Google OIDC token instead of an ID token" },
        { "garbage", "not a JWT" },
    };

    [Theory]
    [MemberData(nameof(RejectedIdTokens))]
    public async Task InvalidIdTokenIsRejected(string kind, string because)
    {
        await using var app = new InferenceApiApplication(platform);
        using var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", IdToken(kind));
        client.DefaultRequestHeaders.Add("X-Firebase-AppCheck", Issuer.Tokens.AppCheckToken(TestIdentityIssuer.AppId, TimeSpan.FromHours(1)));

        var response = await client.GetAsync(Me);

        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized, because);
        (await response.Content.ReadAsStringAsync()).ShouldBe("""{"detail":"Invalid or expired credentials."}""");
    }

    [Theory]
    [InlineData("missing")]
    [InlineData("forged")]
    [InlineData("wrong-project")]
    [InlineData("expired")]
    public async Task InvalidAppCheckTokenIsRejectedEvenWithAValidIdToken(string kind)
    {
        await using var app = new InferenceApiApplication(platform);
        using var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Issuer.Tokens.FirebaseIdToken("judy", null, false, TimeSpan.FromHours(1)));
        var appCheck = kind switch
        {
            "forged" => Issuer.Forger.AppCheckToken(TestIdentityIssuer.AppId, TimeSpan.FromHours(1)),
            "expired" => Issuer.Tokens.AppCheckToken(TestIdentityIssuer.AppId, TimeSpan.FromMinutes(-10)),
            "wrong-project" => Issuer.Sign(SigningKeys.AppCheck, Claims(
                ("iss", "https://firebaseappcheck.googleapis.com/999999999"),
                ("aud", new[] { "projects/999999999", "projects/someone-else" }),
                ("sub", TestIdentityIssuer.AppId))),
            _ => null,
        };
        if (appCheck is not null)
        {
            client.DefaultRequestHeaders.Add("X-Firebase-AppCheck", appCheck);
        }

        var response = await client.GetAsync(Me);

        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task OidcTokenIsAcceptedOnInternalRoutesOnly()
    {
        await using var app = new InferenceApiApplication(platform);
        using var client = app.BearerClient(Issuer.Tokens.GoogleOidcToken(TestIdentityIssuer.ExecutorAccount, TestIdentityIssuer.InternalAudience, TimeSpan.FromHours(1)));

        using var me = JsonDocument.Parse(await client.GetStringAsync(InternalMe));
        var onPublicRoute = await client.GetAsync(Me);

        me.RootElement.GetProperty("source").GetString().ShouldBe("agent");
        me.RootElement.GetProperty("service_account").GetString().ShouldBe(TestIdentityIssuer.ExecutorAccount);
        onPublicRoute.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task ApiKeysAndWebTokensAreRefusedOnInternalRoutes()
    {
        await using var app = new InferenceApiApplication(platform);
        var (_, apiKey) = await app.CreateKeyAsync("kim");
        using var keyClient = app.KeyClient(apiKey);
        using var web = app.WebClient("kim");

        (await keyClient.GetAsync(InternalMe)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await web.GetAsync(InternalMe)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Theory]
    [InlineData("agent-executor@inference-agents.iam.gserviceaccount.com", "https://another-service.test", true, "wrong audience")]
    [InlineData("intruder@evil.iam.gserviceaccount.com", TestIdentityIssuer.InternalAudience, true, "not on the allowlist")]
    [InlineData("agent-executor@inference-agents.iam.gserviceaccount.com", TestIdentityIssuer.InternalAudience, false, "email not verified")]
    public async Task OidcTokenThatIsNotForUsIsRejected(string email, string audience, bool emailVerified, string because)
    {
        await using var app = new InferenceApiApplication(platform);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var token = Issuer.Sign(SigningKeys.Google, Claims(
            ("iss", "https://accounts.google.com"), ("aud", audience), ("sub", "1234567890"), ("email", email),
            ("email_verified", emailVerified), ("iat", now), ("exp", now + 3600)));
        using var client = app.BearerClient(token);

        var response = await client.GetAsync(InternalMe);

        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized, because);
    }

    [Fact]
    public async Task ForgedOidcTokenIsRejected()
    {
        await using var app = new InferenceApiApplication(platform);
        using var client = app.BearerClient(Issuer.Forger.GoogleOidcToken(TestIdentityIssuer.ExecutorAccount, TestIdentityIssuer.InternalAudience, TimeSpan.FromHours(1)));

        (await client.GetAsync(InternalMe)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task MissingCredentialsGetA401WithAClearDetail()
    {
        await using var app = new InferenceApiApplication(platform);
        using var client = app.CreateClient();

        var response = await client.GetAsync(Me);

        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await response.Content.ReadAsStringAsync()).ShouldContain("X-Api-Key");
    }

    [Fact]
    public async Task KeySetsAreFetchedOnceAndCachedAcrossRequests()
    {
        await using var app = new InferenceApiApplication(platform);
        using var web = app.WebClient("lena");
        (await web.GetAsync(Me)).EnsureSuccessStatusCode();
        var afterFirst = Issuer.KeySetRequests;

        for (var i = 0; i < 5; i++)
        {
            (await web.GetAsync(Me)).EnsureSuccessStatusCode();
        }

        Issuer.KeySetRequests.ShouldBe(afterFirst);
    }

    private string IdToken(string kind)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        return kind switch
        {
            "forged" => Issuer.Forger.FirebaseIdToken("judy", null, false, TimeSpan.FromHours(1)),
            "expired" => Issuer.Tokens.FirebaseIdToken("judy", null, false, TimeSpan.FromMinutes(-10)),
            "wrong-audience" => Issuer.Sign(SigningKeys.Firebase, Claims(
                ("iss", $"https://securetoken.google.com/{TestIdentityIssuer.ProjectId}"), ("aud", "someone-else"),
                ("sub", "judy"), ("auth_time", now), ("iat", now), ("exp", now + 3600))),
            "wrong-issuer" => Issuer.Sign(SigningKeys.Firebase, Claims(
                ("iss", "https://securetoken.google.com/someone-else"), ("aud", TestIdentityIssuer.ProjectId),
                ("sub", "judy"), ("auth_time", now), ("iat", now), ("exp", now + 3600))),
            "future-iat" => Issuer.Sign(SigningKeys.Firebase, Claims(
                ("iss", $"https://securetoken.google.com/{TestIdentityIssuer.ProjectId}"), ("aud", TestIdentityIssuer.ProjectId),
                ("sub", "judy"), ("auth_time", now), ("iat", now + 3600), ("exp", now + 7200))),
            "no-kid" => Unsigned(now),
            "oidc" => Issuer.Tokens.GoogleOidcToken(TestIdentityIssuer.ExecutorAccount, TestIdentityIssuer.ProjectId, TimeSpan.FromHours(1)),
            _ => "not-a-jwt",
        };
    }

    private static string Unsigned(long now)
    {
        static string Encode(string json) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(json)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return $"{Encode("""{"alg":"none","typ":"JWT"}""")}.{Encode($$"""{"iss":"https://securetoken.google.com/{{TestIdentityIssuer.ProjectId}}","aud":"{{TestIdentityIssuer.ProjectId}}","sub":"judy","iat":{{now}},"exp":{{now + 3600}}}""")}.";
    }

    private static Dictionary<string, object> Claims(params (string Name, object Value)[] claims) =>
        claims.ToDictionary(c => c.Name, c => c.Value);
}
