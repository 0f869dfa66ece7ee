using System.Diagnostics;

namespace Majestix.MockUpstream.Tests;

internal sealed record SseEvent(string? Event, string Data, TimeSpan At);

// Minimal SSE reader for asserting the raw wire sequence and its timing.
internal static class SseReader
{
    public static async Task<(List<SseEvent> Events, Exception? Error)> ReadAllAsync(HttpResponseMessage response, Stopwatch clock)
    {
        var events = new List<SseEvent>();
        try
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            string? eventName = null;
            string? line;
            while ((line = await reader.ReadLineAsync()) is not null)
            {
                if (line.StartsWith("event: ", StringComparison.Ordinal))
                {
                    eventName = line[7..];
                }
                else if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    events.Add(new SseEvent(eventName, line[6..], clock.Elapsed));
                    eventName = null;
                }
            }
            return (events, null);
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            return (events, e);
        }
    }
}
