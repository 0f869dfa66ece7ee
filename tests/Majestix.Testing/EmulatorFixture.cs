namespace Majestix.Testing;

/// <summary>
/// Starts a gcloud emulator on a free loopback port once per fixture and kills its process tree on
/// dispose. Share it per test collection and isolate tests by project id
/// (<see cref="TestIsolation.NewProjectId"/>).
/// </summary>
public abstract class EmulatorFixture : IAsyncLifetime
{
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(90);
    private ExternalProcess? _process;

    /// <summary>The loopback port the emulator listens on.</summary>
    public int Port { get; private set; }

    /// <summary>host:port, the value for <c>FIRESTORE_EMULATOR_HOST</c> / <c>PUBSUB_EMULATOR_HOST</c>.</summary>
    public string EmulatorHost => $"127.0.0.1:{Port}";

    /// <summary><c>http://127.0.0.1:{port}/</c>.</summary>
    public Uri BaseAddress => new($"http://{EmulatorHost}/");

    /// <summary>A plain client for the emulator's own endpoints (no auth, base address set).</summary>
    protected HttpClient Http { get; } = new();

    /// <summary>The java process tree, for tests that check cleanup.</summary>
    public ExternalProcess Process => _process ?? throw new InvalidOperationException("The emulator has not been started.");

    /// <summary>The emulator's display name.</summary>
    protected abstract string DisplayName { get; }

    /// <summary>The executable that starts the emulator.</summary>
    protected abstract string ExecutablePath { get; }

    /// <summary>The arguments for listening on <paramref name="port"/>.</summary>
    protected abstract IEnumerable<string> Arguments(int port);

    /// <summary>
    /// Runs the emulator under the idle scheduling policy (<c>chrt --idle 0</c>), so it only gets what the
    /// processes it stands beside leave over. Unlike <c>nice 19</c>, which can still keep a woken process
    /// waiting out its time slice, an idle-policy process is preempted the moment another wakes.
    /// Set before <see cref="InitializeAsync"/>.
    /// </summary>
    public bool LowestPriority { get; init; }

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        if (!File.Exists(ExecutablePath))
        {
            throw new InvalidOperationException($"{DisplayName} is not installed at {ExecutablePath}.");
        }

        Port = FreePort.Next();
        Http.BaseAddress = BaseAddress;
        _process = LowestPriority
            ? ExternalProcess.Start("chrt", ["--idle", "0", ExecutablePath, .. Arguments(Port)], DisplayName)
            : ExternalProcess.Start(ExecutablePath, Arguments(Port), DisplayName);
        await _process.WaitUntilReadyAsync(
                async cancellationToken =>
                {
                    using var response = await Http.GetAsync(new Uri("/", UriKind.Relative), cancellationToken).ConfigureAwait(false);
                    return response.IsSuccessStatusCode;
                },
                StartupTimeout)
            .ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task DisposeAsync()
    {
        _process?.Dispose();
        Http.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>The Cloud Firestore emulator.</summary>
public sealed class FirestoreEmulatorFixture : EmulatorFixture
{
    /// <summary>Where the Cloud SDK installs the emulator.</summary>
    public const string DefaultPath = "/usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator/cloud_firestore_emulator";

    /// <inheritdoc />
    protected override string DisplayName => "Firestore emulator";

    /// <inheritdoc />
    protected override string ExecutablePath => DefaultPath;

    /// <summary>Deletes every document of <paramref name="projectId"/>'s default database.</summary>
    public async Task ClearAsync(string projectId)
    {
        using var response = await Http.DeleteAsync(
                new Uri($"/emulator/v1/projects/{projectId}/databases/(default)/documents", UriKind.Relative))
            .ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
    }

    /// <inheritdoc />
    protected override IEnumerable<string> Arguments(int port) => ["start", "--host=127.0.0.1", $"--port={port}"];
}

/// <summary>The Cloud Pub/Sub emulator.</summary>
public sealed class PubSubEmulatorFixture : EmulatorFixture
{
    /// <summary>Where the Cloud SDK installs the emulator.</summary>
    public const string DefaultPath = "/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator";

    /// <inheritdoc />
    protected override string DisplayName => "Pub/Sub emulator";

    /// <inheritdoc />
    protected override string ExecutablePath => DefaultPath;

    /// <inheritdoc />
    protected override IEnumerable<string> Arguments(int port) => ["--host=127.0.0.1", $"--port={port}"];
}
