using System.Collections.Concurrent;
using System.Diagnostics;

namespace Majestix.Testing;

/// <summary>
/// A child process owned by a fixture: output is kept for failure messages, and stopping kills the
/// whole tree (the gcloud emulator scripts start java as a child).
/// </summary>
public sealed class ExternalProcess : IDisposable
{
    private const int KeptOutputLines = 200;
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly string? _outputFile;

    private ExternalProcess(Process process, string displayName, string? outputFile)
    {
        _process = process;
        DisplayName = displayName;
        _outputFile = outputFile;
    }

    /// <summary>The name used in messages.</summary>
    public string DisplayName { get; }

    /// <summary>The process id of the started executable (the script, for script-wrapped tools).</summary>
    public int Id => _process.Id;

    /// <summary>Whether the process has ended.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>The last lines the process wrote to stdout and stderr.</summary>
    public string RecentOutput => _outputFile is null ? string.Join(Environment.NewLine, _output) : TailOf(_outputFile);

    /// <summary>Starts <paramref name="fileName"/> with <paramref name="arguments"/>, capturing its output.</summary>
    public static ExternalProcess Start(string fileName, IEnumerable<string> arguments, string displayName) =>
        Start(fileName, arguments, displayName, environment: null);

    /// <summary>As <see cref="Start(string, IEnumerable{string}, string)"/>, with variables added to the inherited environment.</summary>
    public static ExternalProcess Start(string fileName, IEnumerable<string> arguments, string displayName, IReadOnlyDictionary<string, string>? environment) =>
        Start(fileName, arguments, displayName, environment, outputFile: null);

    private static ExternalProcess Start(string fileName, IEnumerable<string> arguments, string displayName, IReadOnlyDictionary<string, string>? environment,
        string? outputFile)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            startInfo.Environment[name] = value;
        }

        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        var owned = new ExternalProcess(process, displayName, outputFile);
        process.OutputDataReceived += (_, e) => owned.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => owned.Keep(e.Data);
        if (!process.Start())
        {
            throw new InvalidOperationException($"{displayName} did not start ({fileName}).");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return owned;
    }

    /// <summary>
    /// As <see cref="Start(string, IEnumerable{string}, string, IReadOnlyDictionary{string, string}?)"/>, but the process
    /// appends its stdout and stderr to <paramref name="outputFile"/> itself instead of writing into a pipe
    /// this process reads: a process that logs every request then costs its parent no CPU. The shell
    /// execs the command, so <see cref="Id"/> is still the command's own process id.
    /// </summary>
    public static ExternalProcess StartWritingOutputTo(string outputFile, string fileName, IEnumerable<string> arguments, string displayName,
        IReadOnlyDictionary<string, string>? environment)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputFile);
        var withOutputFile = new Dictionary<string, string>(environment ?? new Dictionary<string, string>()) { ["MAJESTIX_OUTPUT_FILE"] = outputFile };
        return Start("/bin/sh", ["-c", "exec \"$0\" \"$@\" >>\"$MAJESTIX_OUTPUT_FILE\" 2>&1", fileName, .. arguments], displayName, withOutputFile, outputFile);
    }

    /// <summary>Polls <paramref name="probe"/> until it returns true; fails fast if the process exits.</summary>
    public async Task WaitUntilReadyAsync(Func<CancellationToken, Task<bool>> probe, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(probe);
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException(
                    $"{DisplayName} exited with code {_process.ExitCode} before it was ready.{Environment.NewLine}{RecentOutput}");
            }

            using var attemptTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                if (await probe(attemptTimeout.Token).ConfigureAwait(false))
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException or System.Net.Sockets.SocketException)
            {
                // Not listening yet.
            }

            await Task.Delay(100).ConfigureAwait(false);
        }

        Kill();
        throw new TimeoutException($"{DisplayName} was not ready after {timeout.TotalSeconds:0} s.{Environment.NewLine}{RecentOutput}");
    }

    /// <summary>The process id and those of every process it started that is still running.</summary>
    public IReadOnlyList<int> TreeIds() => [Id, .. DescendantsOf(Id)];

    /// <summary>Kills the process and all its descendants and waits until every one of them has exited.</summary>
    public void Kill()
    {
        try
        {
            if (_process.HasExited)
            {
                return;
            }

            var descendants = DescendantsOf(_process.Id);
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(TimeSpan.FromSeconds(15));
            // Orphaned children are reparented to init, so wait for them by pid, not through Process.
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (descendants.Any(IsAlive) && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(50);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    private static List<int> DescendantsOf(int rootPid)
    {
        var parents = new Dictionary<int, int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), out var pid) && ReadStat(pid) is { } stat)
            {
                parents[pid] = stat.ParentPid;
            }
        }

        var result = new List<int>();
        var frontier = new Queue<int>([rootPid]);
        while (frontier.TryDequeue(out var parent))
        {
            foreach (var (pid, parentPid) in parents)
            {
                if (parentPid == parent)
                {
                    result.Add(pid);
                    frontier.Enqueue(pid);
                }
            }
        }

        return result;
    }

    // A zombie has released everything; it only waits for init to reap it.
    private static bool IsAlive(int pid) => ReadStat(pid) is { State: not 'Z' and not 'X' };

    private static (char State, int ParentPid)? ReadStat(int pid)
    {
        try
        {
            // Format: "pid (comm) state ppid ..."; comm may contain spaces and parentheses.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (fields[0][0], int.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    private static string TailOf(string file)
    {
        try
        {
            return string.Join(Environment.NewLine, File.ReadLines(file).TakeLast(KeptOutputLines));
        }
        catch (IOException exception)
        {
            return $"(the output in {file} could not be read: {exception.Message})";
        }
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > KeptOutputLines && _output.TryDequeue(out _))
        {
        }
    }
}
