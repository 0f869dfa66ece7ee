using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Majestix.InferenceApi.UsageEvents;
using Majestix.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Majestix.InferenceApi.Tests.UsageEvents;

/// <summary>
/// Every model call writes one Information line carrying who was billed (the usage events' opaque hash),
/// the model, the provider, the tokens and the credits as structured properties, and no line the app
/// writes during a call holds the prompt, the answer or the caller's UID.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class ModelCallLogTests(PlatformFixture platform)
{
    private static readonly string Category = typeof(UsageLog).FullName!;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AModelCallLogsOneLineWithItsBillingFieldsAndNoContent(bool stream)
    {
        await using var app = new InferenceApiApplication(platform);
        await app.CreateUsageSubscriptionAsync();
        var userId = $"uid-logline-{(stream ? "s" : "j")}-Kq73Lmz";
        await app.SeedUserAsync(userId, "pro");
        var (_, apiKey) = await app.SeedKeyAsync(userId);
        var logs = new RecordingLogs();
        // The app logs through Serilog; the test reads what reaches ILogger instead of parsing stdout, with
        // the levels ServiceDefaults sets (HttpClient's per-request lines, which name Firestore paths, stay off).
        using var factory = LoggerFactory.Create(logging => logging.AddProvider(logs)
            .SetMinimumLevel(LogLevel.Information)
            .AddFilter("Microsoft.AspNetCore", LogLevel.Warning)
            .AddFilter("System.Net.Http.HttpClient", LogLevel.Warning));
        await using var recorded = app.WithWebHostBuilder(builder =>
            builder.ConfigureTestServices(services => services.AddSingleton(factory)));
        using var client = recorded.CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        const string secret = "Zebra-Quasar-4417 is my bank PIN";

        using var response = await client.PostAsJsonAsync("/code", new
        {
            model = "claude-haiku",
            stream,
            system = "Keep it short. Zebra-Quasar-4417",
            messages = new[] { new { role = "user", content = $"Remember: {secret}. [[mock output_tokens=12]]" } },
        });
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var answer = await response.Content.ReadAsStringAsync();
        answer.ShouldNotContain("Zebra-Quasar");
        var done = stream
            ? JsonDocument.Parse(answer.Split('\n').Last(line => line.StartsWith("data: ", StringComparison.Ordinal))[6..]).RootElement
            : JsonDocument.Parse(answer).RootElement;
        var usageEvent = JsonDocument.Parse((await recorded.PullUsageMessagesAsync()).Single().GetDataAsString()).RootElement;

        var line = logs.Lines.Where(l => l.Category == Category).ShouldHaveSingleItem();
        line.Level.ShouldBe(LogLevel.Information);
        line.Properties["UserId"].ShouldBe(usageEvent.GetProperty("user_id").GetString());
        line.Properties["Model"].ShouldBe("claude-haiku");
        line.Properties["Provider"].ShouldBe("anthropic");
        line.Properties["Endpoint"].ShouldBe("/code");
        line.Properties["InputTokens"].ShouldBe(done.GetProperty("usage").GetProperty("input_tokens").GetInt64());
        line.Properties["OutputTokens"].ShouldBe(12L);
        line.Properties["Credits"].ShouldBe(done.GetProperty("credits_used").GetDecimal());
        line.Properties["Status"].ShouldBe("ok");
        line.Message.ShouldContain(usageEvent.GetProperty("user_id").GetString()!);

        // The prompt, the system prompt and the UID: none in any line of any category.
        foreach (var logLine in logs.Lines)
        {
            var text = string.Join('\n', [logLine.Message, logLine.Exception?.ToString(),
                .. logLine.Properties.Values.Select(value => Convert.ToString(value, CultureInfo.InvariantCulture))]);
            text.ShouldNotContain("Zebra-Quasar", Case.Insensitive, $"{logLine.Category}: {logLine.Message}");
            text.ShouldNotContain(userId, Case.Sensitive, $"{logLine.Category}: {logLine.Message}");
        }
    }
}
