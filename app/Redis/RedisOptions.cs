using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Majestix.InferenceApi.Redis;

public enum RedisFailurePolicy
{
    /// <summary>Every request that needs Redis gets 503 while it is unreachable: no check is skipped.</summary>
    Reject,

    /// <summary>Requests pass without rate or credit enforcement (dev and testing only).</summary>
    Allow,
}

public sealed class RedisOptions
{
    public const string SectionName = "Redis";

    /// <summary>StackExchange.Redis configuration (<c>ConnectionStrings:redis</c>) or a <c>redis://</c> / <c>rediss://</c> URL (<c>REDIS_URL</c>).</summary>
    [Required]
    public string Configuration { get; set; } = "";

    /// <summary>
    /// Short on purpose: an outage must turn into a prompt 503, not a pile of requests waiting on a
    /// socket. Memorystore answers in well under a millisecond inside the VPC.
    /// </summary>
    [Range(100, 10_000)]
    public int ConnectTimeoutMilliseconds { get; set; } = 1_000;

    [Range(50, 10_000)]
    public int CommandTimeoutMilliseconds { get; set; } = 500;

    public RedisFailurePolicy FailurePolicy { get; set; } = RedisFailurePolicy.Reject;

    /// <summary>Memorystore AUTH string; from Secret Manager (<c>REDIS_AUTH</c>), never from appsettings.</summary>
    public string? Password { get; set; }

    /// <summary>
    /// PEM of the CA that signed the server certificate (<c>REDIS_TLS_CA_CERT</c>). Memorystore's
    /// in-transit encryption uses a per-instance CA that no system trust store holds.
    /// </summary>
    public string? TlsCaCertificate { get; set; }
}

[OptionsValidator]
public sealed partial class RedisOptionsValidator : IValidateOptions<RedisOptions>;
