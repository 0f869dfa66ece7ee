using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text.Json;
using Xunit.Abstractions;

namespace Majestix.InferenceApi.Tests.OpenAiCompatible;

/// <summary>
/// The official <c>openai</c> npm package, unchanged, against the app on a real socket: non-streaming,
/// streaming with <c>include_usage</c>, tool calls and an error (openai-sdk/sdk-check.mjs). The package is
/// pinned by openai-sdk/package-lock.json; <c>npm ci</c> runs only when the lock file changed since the last run.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class OpenAiSdkTests(PlatformFixture platform, ITestOutputHelper output)
{
    private static readonly SemaphoreSlim InstallLock = new(1, 1);

    [Fact]
    public async Task OfficialOpenAiSdkCompletesStreamsAndCallsTools()
    {
        var folder = SdkFolder();
        await EnsureInstalledAsync(folder);
        await using var app = new InferenceApiApplication(platform);
        // Not UseKestrel(0): it rewrites the server's addresses while the app binds them, a race that
        // sometimes throws (dotnet/aspnetcore#67714).
        app.UseKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, 0));
        app.StartServer();
        await app.SeedUserAsync("sdk-user", "pro");
        var (_, apiKey) = await app.SeedKeyAsync("sdk-user");
        using var http = app.CreateClient();
        var baseUrl = new Uri(http.BaseAddress!, "/v1").ToString();

        var (exitCode, stdout, stderr) = await RunAsync(folder, "node", ["sdk-check.mjs"], TimeSpan.FromMinutes(2), new Dictionary<string, string>
        {
            ["MAJESTIX_BASE_URL"] = baseUrl,
            ["MAJESTIX_API_KEY"] = apiKey,
            ["MAJESTIX_MODEL"] = "gpt-5-mini",
        });

        output.WriteLine(stdout);
        exitCode.ShouldBe(0, $"stdout:\n{stdout}\nstderr:\n{stderr}");
        using var summary = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]);
        var root = summary.RootElement;
        root.GetProperty("ok").GetBoolean().ShouldBeTrue();
        root.GetProperty("non_streaming").GetProperty("usage").GetProperty("completion_tokens").GetInt32().ShouldBe(16);
        root.GetProperty("streaming").GetProperty("text_length").GetInt32().ShouldBeGreaterThan(0);
        root.GetProperty("streaming").GetProperty("usage").GetProperty("total_tokens").GetInt32().ShouldBeGreaterThan(0);
        root.GetProperty("tool_call").GetProperty("name").GetString().ShouldBe("get_weather");
        root.GetProperty("tool_call").GetProperty("streamed_name").GetString().ShouldBe("get_weather");
        root.GetProperty("unknown_model").GetProperty("status").GetInt32().ShouldBe(404);
    }

    private static async Task EnsureInstalledAsync(string folder)
    {
        await InstallLock.WaitAsync();
        try
        {
            var lockHash = Convert.ToHexString(SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(folder, "package-lock.json"))));
            var marker = Path.Combine(folder, "node_modules", ".lock-sha256");
            if (File.Exists(marker) && (await File.ReadAllTextAsync(marker)).Trim() == lockHash)
            {
                return;
            }
            var (exitCode, stdout, stderr) = await RunAsync(folder, "npm", ["ci", "--no-audit", "--no-fund", "--prefer-offline"], TimeSpan.FromMinutes(5), null);
            exitCode.ShouldBe(0, $"npm ci failed:\n{stdout}\n{stderr}");
            await File.WriteAllTextAsync(marker, lockHash);
        }
        finally
        {
            InstallLock.Release();
        }
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(
        string folder, string fileName, string[] arguments, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', arguments)} did not finish within {timeout}.\n{await stdout}\n{await stderr}");
        }
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>The source folder (node_modules is cached there, next to the lock file), found from this file's path or the working directory.</summary>
    private static string SdkFolder([CallerFilePath] string sourceFile = "")
    {
        var beside = Path.Combine(Path.GetDirectoryName(sourceFile) ?? "", "openai-sdk");
        if (File.Exists(Path.Combine(beside, "package-lock.json")))
        {
            return beside;
        }
        foreach (var root in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var directory = new DirectoryInfo(root); directory is not null; directory = directory.Parent)
            {
                var candidate = Path.Combine(directory.FullName, "tests", "Majestix.InferenceApi.Tests", "OpenAiCompatible", "openai-sdk");
                if (File.Exists(Path.Combine(candidate, "package-lock.json")))
                {
                    return candidate;
                }
            }
        }
        throw new DirectoryNotFoundException("tests/Majestix.InferenceApi.Tests/OpenAiCompatible/openai-sdk was not found.");
    }
}
