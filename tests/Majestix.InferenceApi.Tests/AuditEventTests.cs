using System.Net;
using System.Text.Json;
using Majestix.Testing;

namespace Majestix.InferenceApi.Tests;

[Collection(PlatformCollection.Name)]
public sealed class AuditEventTests(PlatformFixture platform)
{
    private static readonly BigQuerySchema Schema = BigQuerySchema.Load(Path.Combine(AppContext.BaseDirectory, "schemas", "audit_events.json"));

    [Fact]
    public async Task SecurityEventsArePublishedMatchingTheBigQuerySchemaWithoutSecrets()
    {
        await using var app = new InferenceApiApplication(platform, settings: new Dictionary<string, string?> { ["RateLimits:ReadsPerMinute"] = "2" });
        await app.CreateAuditSubscriptionAsync();
        var (keyId, apiKey) = await app.CreateKeyAsync("olivia");
        using var web = app.WebClient("olivia");
        (await web.DeleteAsync(new Uri($"/api-keys/{keyId}", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        var (_, peterKey) = await app.SeedKeyAsync("peter");
        using var peter = app.KeyClient(peterKey);
        (await peter.GetAsync(new Uri("/me", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await peter.GetAsync(new Uri("/me", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await peter.GetAsync(new Uri("/me", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
        var badToken = app.Issuer.Forger.FirebaseIdToken("olivia", null, false, TimeSpan.FromHours(1));
        using var forged = app.BearerClient(badToken);
        forged.DefaultRequestHeaders.Add("X-Firebase-AppCheck", "not-a-token");
        (await forged.GetAsync(new Uri("/me", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);

        var events = await app.PullAuditEventsAsync();

        var types = events.Select(e => e.GetProperty("event_type").GetString()).ToList();
        types.ShouldContain("key_created");
        types.ShouldContain("rate_limited");
        types.ShouldContain("key_revoked");
        types.ShouldContain("auth_failure");
        foreach (var auditEvent in events)
        {
            Schema.Problems(auditEvent).ShouldBeEmpty(auditEvent.GetRawText());
            var raw = auditEvent.GetRawText();
            raw.ShouldNotContain(apiKey);
            raw.ShouldNotContain(peterKey);
            raw.ShouldNotContain(badToken);
            raw.ShouldNotContain("127.0.0.1");
            raw.ShouldNotContain("olivia@example.com");
        }
        var created = events.Single(e => e.GetProperty("event_type").GetString() == "key_created");
        created.GetProperty("key_id").GetString().ShouldBe(keyId);
        created.GetProperty("user_id").GetString().ShouldBe("olivia");
        created.GetProperty("service").GetString().ShouldBe("inference-api");
        var failure = events.Single(e => e.GetProperty("event_type").GetString() == "auth_failure");
        failure.GetProperty("ip_hash").GetString()!.Length.ShouldBe(32);
        failure.GetProperty("reason").GetString().ShouldStartWith("app_check");
    }

    [Fact]
    public void SchemaCheckRejectsRowsBigQueryWouldReject()
    {
        using var unknownField = JsonDocument.Parse("""{"event_id":"1","event_time":"2026-01-01T00:00:00Z","event_type":"x","service":"s","ip":"1.2.3.4"}""");
        using var missingRequired = JsonDocument.Parse("""{"event_id":"1","event_type":"x","service":"s"}""");
        using var badTimestamp = JsonDocument.Parse("""{"event_id":"1","event_time":"yesterday","event_type":"x","service":"s"}""");

        Schema.Problems(unknownField.RootElement).ShouldContain("unknown field 'ip'");
        Schema.Problems(missingRequired.RootElement).ShouldContain("required field 'event_time' is missing");
        Schema.Problems(badTimestamp.RootElement).Single().ShouldStartWith("'event_time' is not a TIMESTAMP");
    }
}
