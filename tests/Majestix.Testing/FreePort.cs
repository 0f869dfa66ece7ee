using System.Net;
using System.Net.Sockets;

namespace Majestix.Testing;

/// <summary>Finds unused loopback ports.</summary>
public static class FreePort
{
    /// <summary>
    /// A port the OS reports free right now. Another process could take it before the caller binds
    /// it; fixtures surface that as a startup failure with the child's output.
    /// </summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
