using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Majestix.GoogleCloud.Firestore;
using Majestix.InferenceApi.Keys;

namespace Majestix.InferenceApi.Tests;

[Collection(PlatformCollection.Name)]
public sealed class ApiKeyTests(PlatformFixture platform)
{
    [Fact]
    public async Task CreatedKeyIsShownOnceStoredAsHashAndAuthenticates()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("alice", "guru");
        using var web = app.WebClient("alice");

        using var created = await web.PostAsJsonAsync("/api-keys", new { name = "laptop" });
        created.StatusCode.ShouldBe(HttpStatusCode.OK);
        using var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
        var apiKey = body.RootElement.GetProperty("api_key").GetString()!;
        var keyId = body.RootElement.GetProperty("key_id").GetString()!;
        apiKey.ShouldStartWith("inf_");
        Convert.FromBase64String(apiKey[4..].Replace('-', '+').Replace('_', '/') + "=").Length.ShouldBe(32);
        body.RootElement.GetProperty("name").GetString().ShouldBe("laptop");
        var createdAt = body.RootElement.GetProperty("created_at").GetDateTimeOffset();
        body.RootElement.GetProperty("expires_at").GetDateTimeOffset().ShouldBe(createdAt.AddDays(90), TimeSpan.FromSeconds(1));

        var stored = await app.Firestore.GetAsync($"api_keys/{keyId}");
        stored.ShouldNotBeNull();
        stored.Fields["key_hash"].StringValue.ShouldBe(ApiKeyStore.Hash(apiKey));
        stored.Fields.Values.ShouldNotContain(v => v.Kind == FirestoreValueKind.String && v.StringValue == apiKey);

        var listing = await web.GetStringAsync(new Uri("/api-keys", UriKind.Relative));
        listing.ShouldNotContain(apiKey);
        listing.ShouldContain(keyId);
        listing.ShouldContain(apiKey[..12]);

        using var keyClient = app.KeyClient(apiKey);
        using var me = JsonDocument.Parse(await keyClient.GetStringAsync(new Uri("/me", UriKind.Relative)));
        me.RootElement.GetProperty("source").GetString().ShouldBe("api_key");
        me.RootElement.GetProperty("user_id").GetString().ShouldBe("alice");
        me.RootElement.GetProperty("plan").GetString().ShouldBe("guru");
        me.RootElement.GetProperty("key_id").GetString().ShouldBe(keyId);
    }

    [Fact]
    public async Task ApiKeyIsRefusedOnWebOnlyEndpoints()
    {
        await using var app = new InferenceApiApplication(platform);
        var (_, apiKey) = await app.CreateKeyAsync("bob");
        using var keyClient = app.KeyClient(apiKey);

        var list = await keyClient.GetAsync(new Uri("/api-keys", UriKind.Relative));
        var create = await keyClient.PostAsJsonAsync("/api-keys", new { name = "sneaky" });

        list.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        create.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await list.Content.ReadAsStringAsync()).ShouldContain("\"detail\"");
    }

    [Fact]
    public async Task RevokedKeyIsRejectedImmediatelyOnEveryHost()
    {
        var isolation = Isolation.New();
        await using var hostA = new InferenceApiApplication(platform, isolation);
        await using var hostB = new InferenceApiApplication(platform, isolation);
        var (keyId, apiKey) = await hostA.CreateKeyAsync("carol");
        using var onA = hostA.KeyClient(apiKey);
        using var onB = hostB.KeyClient(apiKey);
        (await onA.GetAsync(new Uri("/me", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await onB.GetAsync(new Uri("/me", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.OK);

        using var web = hostA.WebClient("carol");
        (await web.DeleteAsync(new Uri($"/api-keys/{keyId}", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        (await onB.GetAsync(new Uri("/me", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await onA.GetAsync(new Uri("/me", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await hostA.Firestore.GetAsync($"api_keys/{keyId}")).ShouldBeNull();
    }

    [Fact]
    public async Task RevokingAnotherUsersKeyIsNotFoundAndKeepsTheKeyWorking()
    {
        await using var app = new InferenceApiApplication(platform);
        var (keyId, apiKey) = await app.CreateKeyAsync("dave");
        using var mallory = app.WebClient("mallory");

        var response = await mallory.DeleteAsync(new Uri($"/api-keys/{keyId}", UriKind.Relative));

        response.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        using var keyClient = app.KeyClient(apiKey);
        (await keyClient.GetAsync(new Uri("/me", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task ExpiredKeyIsRejected()
    {
        await using var app = new InferenceApiApplication(platform);
        const string apiKey = "inf_expiredkeyexpiredkeyexpiredkeyexpiredkey0";
        var past = DateTimeOffset.UtcNow.AddDays(-1);
        await app.Firestore.SetAsync("api_keys/key_expired", new ApiKeyRecord("key_expired", "erin", "old", apiKey[..12],
            ApiKeyStore.Hash(apiKey), "active", past.AddDays(-90), past, null), AppJson.Default.ApiKeyRecord);
        using var keyClient = app.KeyClient(apiKey);

        var response = await keyClient.GetAsync(new Uri("/me", UriKind.Relative));

        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await response.Content.ReadAsStringAsync()).ShouldContain("expired");
    }

    [Fact]
    public async Task UnknownKeyIsRejectedAndTheMissIsNotCached()
    {
        await using var app = new InferenceApiApplication(platform);
        const string apiKey = "inf_notyetcreatednotyetcreatednotyetcreated0000";
        using var keyClient = app.KeyClient(apiKey);

        (await keyClient.GetAsync(new Uri("/me", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await app.Redis.KeyExistsAsync($"apikey:{ApiKeyStore.Hash(apiKey)}")).ShouldBeFalse();

        // The key appears afterwards (say, a replica caught up): the earlier miss must not shadow it.
        var now = DateTimeOffset.UtcNow;
        await app.SeedUserAsync("frank", "pro");
        await app.Firestore.SetAsync("api_keys/key_late", new ApiKeyRecord("key_late", "frank", "late", apiKey[..12],
            ApiKeyStore.Hash(apiKey), "active", now, now.AddDays(1), null), AppJson.Default.ApiKeyRecord);
        (await keyClient.GetAsync(new Uri("/me", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData("short")]
    [InlineData("sk-not-our-format-at-all-0000000000")]
    [InlineData("inf_has spaces and symbols!!!!!!!!!!")]
    public async Task MalformedKeyIsRejectedWithoutALookup(string apiKey)
    {
        await using var app = new InferenceApiApplication(platform);
        using var keyClient = app.KeyClient(apiKey);

        var response = await keyClient.GetAsync(new Uri("/me", UriKind.Relative));

        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await response.Content.ReadAsStringAsync()).ShouldBe("""{"detail":"Invalid API key."}""");
    }

    [Fact]
    public async Task ActiveKeyLimitHoldsUnderConcurrentCreates()
    {
        await using var app = new InferenceApiApplication(platform, settings: new Dictionary<string, string?> { ["ApiKeys:MaxActivePerUser"] = "3" });
        using var web = app.WebClient("grace");

        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => CreateRetryingConflictsAsync(web, $"k{i}")));

        responses.Count(r => r.StatusCode == HttpStatusCode.OK).ShouldBe(3);
        var refused = responses.Where(r => r.StatusCode != HttpStatusCode.OK).ToList();
        refused.ShouldAllBe(r => r.StatusCode == HttpStatusCode.TooManyRequests);
        (await refused[0].Content.ReadAsStringAsync()).ShouldContain("maximum");
        using var listing = JsonDocument.Parse(await web.GetStringAsync(new Uri("/api-keys", UriKind.Relative)));
        listing.RootElement.GetProperty("keys").GetArrayLength().ShouldBe(3);
    }

    // 409 means contention outlasted the server's retries and the client should retry, as real clients
    // do; how often that happens depends on how busy the machine is, so the test retries too.
    private static async Task<HttpResponseMessage> CreateRetryingConflictsAsync(HttpClient web, string name)
    {
        for (var attempt = 1; ; attempt++)
        {
            var response = await web.PostAsJsonAsync("/api-keys", new { name });
            if (response.StatusCode != HttpStatusCode.Conflict || attempt == 10)
            {
                return response;
            }
            response.Dispose();
        }
    }

    [Theory]
    [InlineData("""{"name": ""}""")]
    [InlineData("""{"name": "this name is far too long for anyone to read in a list of keys, really"}""")]
    [InlineData("""{"name": "tab\there"}""")]
    [InlineData("""{"name": 42}""")]
    [InlineData("""{"name": """)]
    public async Task BadKeyRequestsGetAClearErrorAndCreateNothing(string json)
    {
        await using var app = new InferenceApiApplication(platform);
        using var web = app.WebClient("heidi");
        using var content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");

        var response = await web.PostAsync(new Uri("/api-keys", UriKind.Relative), content);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        body.RootElement.GetProperty("detail").GetString().ShouldNotBeNullOrEmpty();
        using var listing = JsonDocument.Parse(await web.GetStringAsync(new Uri("/api-keys", UriKind.Relative)));
        listing.RootElement.GetProperty("keys").GetArrayLength().ShouldBe(0);
    }

    [Fact]
    public async Task LastUseIsRecordedOncePerHour()
    {
        await using var app = new InferenceApiApplication(platform);
        var (keyId, apiKey) = await app.CreateKeyAsync("ivan");
        using var keyClient = app.KeyClient(apiKey);

        (await keyClient.GetAsync(new Uri("/me", UriKind.Relative))).EnsureSuccessStatusCode();
        var firstUse = await WaitForLastUsedAsync(app, keyId);
        (await keyClient.GetAsync(new Uri("/me", UriKind.Relative))).EnsureSuccessStatusCode();
        await Task.Delay(300);

        firstUse.ShouldNotBeNull();
        (await app.Firestore.GetAsync($"api_keys/{keyId}"))!.Fields["last_used_at"].TimestampValue.ShouldBe(firstUse.Value);
    }

    private static async Task<DateTimeOffset?> WaitForLastUsedAsync(InferenceApiApplication app, string keyId)
    {
        for (var i = 0; i < 50; i++)
        {
            var document = await app.Firestore.GetAsync($"api_keys/{keyId}");
            if (document!.Fields["last_used_at"].Kind == FirestoreValueKind.Timestamp)
            {
                return document.Fields["last_used_at"].TimestampValue;
            }
            await Task.Delay(100);
        }
        return null;
    }
}
