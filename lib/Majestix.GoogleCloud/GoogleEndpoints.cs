namespace Majestix.GoogleCloud;

internal static class GoogleEndpoints
{
    /// <summary>Base address for an API: the emulator over plain HTTP when a host:port is given.</summary>
    public static Uri BaseAddress(string? emulatorHost, string productionBase) =>
        string.IsNullOrWhiteSpace(emulatorHost)
            ? new Uri(productionBase)
            : new Uri($"http://{emulatorHost.Trim()}/v1/");

    public static bool IsValidEmulatorHost(string? emulatorHost) =>
        emulatorHost is not null
        && Uri.TryCreate($"http://{emulatorHost.Trim()}/", UriKind.Absolute, out var uri)
        && !uri.IsDefaultPort
        && uri.AbsolutePath == "/";

    public static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    public static bool IsRetryableStatus(string status) => status is
        "ABORTED" or "CANCELLED" or "INTERNAL" or "RESOURCE_EXHAUSTED" or "UNKNOWN" or "UNAVAILABLE" or "DEADLINE_EXCEEDED";
}
