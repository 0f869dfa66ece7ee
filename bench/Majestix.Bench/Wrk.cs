using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Majestix.Bench;

/// <summary>What wrk measured over one run (latencies in microseconds).</summary>
internal sealed record WrkResult(
    [property: JsonPropertyName("requests")] long Requests,
    [property: JsonPropertyName("duration_us")] long DurationMicroseconds,
    [property: JsonPropertyName("bytes")] long Bytes,
    [property: JsonPropertyName("status_errors")] long StatusErrors,
    [property: JsonPropertyName("socket_errors")] long SocketErrors,
    [property: JsonPropertyName("timeouts")] long Timeouts,
    [property: JsonPropertyName("p50")] long P50,
    [property: JsonPropertyName("p90")] long P90,
    [property: JsonPropertyName("p99")] long P99,
    [property: JsonPropertyName("max")] long Max,
    [property: JsonPropertyName("mean")] double Mean)
{
    public double RequestsPerSecond => Requests / (DurationMicroseconds / 1e6);

    public long Errors => StatusErrors + SocketErrors + Timeouts;
}

[JsonSerializable(typeof(WrkResult))]
internal sealed partial class BenchJson : JsonSerializerContext;

/// <summary>Runs Debian's wrk with bench/wrk/openai.lua: fixed connections, one JSON summary line.</summary>
internal static class Wrk
{
    public static async Task<WrkResult> RunAsync(string repoRoot, Target target, bool stream, int connections, TimeSpan duration)
    {
        var startInfo = new ProcessStartInfo("wrk")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // One thread per connection up to two: wrk shares the load generator's CPU with the mock and Redis.
        var threads = Math.Min(connections, 2);
        foreach (var argument in new[]
                 {
                     "-t", Text(threads), "-c", Text(connections), "-d", $"{Text((int)Math.Ceiling(duration.TotalSeconds))}s", "--timeout", "10s",
                     "-s", Path.Combine(repoRoot, "bench", "wrk", "openai.lua"), target.Url,
                 })
        {
            startInfo.ArgumentList.Add(argument);
        }
        startInfo.Environment["BENCH_BODY"] = BenchStack.Body(stream);
        startInfo.Environment["BENCH_HEADERS"] = string.Join('\n', target.Headers);
        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException("wrk did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var text = await output;
        var summary = text.Split('\n').LastOrDefault(line => line.StartsWith('{'));
        if (process.ExitCode != 0 || summary is null)
        {
            throw new InvalidOperationException($"wrk failed against {target.Name} (exit {process.ExitCode}): {text}{await errors}");
        }
        return JsonSerializer.Deserialize(summary, BenchJson.Default.WrkResult)!;
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
