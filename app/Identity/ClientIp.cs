using System.Net;

namespace Majestix.InferenceApi.Identity;

/// <summary>
/// The client's address. Cloud Run's front end appends the address it saw to <c>X-Forwarded-For</c>;
/// everything to the left of that was written by the client and can be forged. So only the last
/// <c>TrustedProxyCount</c> hops are believed, counted from the right; with zero, the socket address.
/// </summary>
internal static class ClientIp
{
    public static string Resolve(HttpContext context, int trustedProxyCount)
    {
        var remote = context.Connection.RemoteIpAddress;
        if (trustedProxyCount <= 0)
        {
            return Normalize(remote);
        }

        var header = context.Request.Headers["X-Forwarded-For"];
        var hops = new List<string>();
        foreach (var value in header)
        {
            foreach (var part in (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                hops.Add(part);
            }
        }
        // Proxy n appended what it saw; the client address is the entry the outermost trusted proxy wrote.
        var index = hops.Count - trustedProxyCount;
        if (index < 0 || index >= hops.Count || !IPAddress.TryParse(hops[index], out var forwarded))
        {
            return Normalize(remote);
        }
        return Normalize(forwarded);
    }

    /// <summary>
    /// What an address's limits and lockout count against: an IPv4 address itself, an IPv6 address's /64 (one
    /// subscriber gets at least a /64, so per address would hand each client 2^64 fresh limits).
    /// </summary>
    public static string LimitScope(string ip)
    {
        if (!ip.Contains(':', StringComparison.Ordinal) || !IPAddress.TryParse(ip, out var address))
        {
            return ip;
        }
        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4().ToString();
        }
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes).ToString() + "/64";
    }

    private static string Normalize(IPAddress? address) =>
        address is null ? "unknown"
        : address.IsIPv4MappedToIPv6 ? address.MapToIPv4().ToString()
        : address.ToString();
}
