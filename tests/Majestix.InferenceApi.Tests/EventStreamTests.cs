using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;

namespace Majestix.InferenceApi.Tests;

/// <summary>
/// Frames are batched into one write when the provider sends a burst, but never held back while the
/// gateway waits for the provider: what arrived is on the wire before the next wait.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class EventStreamTests(PlatformFixture platform)
{
    [Fact]
    public async Task TokensReachTheClientWhileTheModelIsStillWriting()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("es-slow", "pro");
        var (_, apiKey) = await app.SeedKeyAsync("es-slow");
        using var client = app.KeyClient(apiKey);
        // 40 tokens at 10 per second: about four seconds of writing.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = JsonContent.Create(new
            {
                model = "gpt-5-mini",
                stream = true,
                messages = new[] { new { role = "user", content = "a slow story [[mock output_tokens=40 tokens_per_second=10]]" } },
            }),
        };

        var clock = Stopwatch.StartNew();
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        TimeSpan? firstContent = null;
        var contentFrames = 0;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("data: {", StringComparison.Ordinal) && line.Contains("\"content\":\"", StringComparison.Ordinal) && !line.Contains("\"content\":\"\"", StringComparison.Ordinal))
            {
                firstContent ??= clock.Elapsed;
                contentFrames++;
            }
            if (line == "data: [DONE]")
            {
                break;
            }
        }
        var total = clock.Elapsed;

        contentFrames.ShouldBeGreaterThanOrEqualTo(20);
        firstContent.ShouldNotBeNull();
        total.ShouldBeGreaterThan(TimeSpan.FromSeconds(3));
        // The first tokens were on the wire long before the model finished.
        (total - firstContent.Value).ShouldBeGreaterThan(TimeSpan.FromSeconds(2.5));
    }
}
