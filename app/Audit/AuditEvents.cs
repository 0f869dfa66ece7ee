using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Majestix.GoogleCloud.PubSub;
using Microsoft.Extensions.Options;

namespace Majestix.InferenceApi.Audit;

/// <summary>One row of BigQuery <c>audit_events</c> (schema: infra/schemas/audit_events.json).</summary>
public sealed record AuditEvent(
    string EventId,
    DateTimeOffset EventTime,
    string EventType,
    string Service,
    string? RequestId,
    string? UserId,
    string? IpHash,
    string? KeyId,
    string? Reason,
    string? Details);

public static class AuditEventTypes
{
    public const string AuthFailure = "auth_failure";
    public const string IpBlocked = "ip_blocked";
    public const string RateLimited = "rate_limited";
    public const string KeyCreated = "key_created";
    public const string KeyRevoked = "key_revoked";
}

public sealed class AuditOptions
{
    public const string SectionName = "Audit";

    public string Topic { get; set; } = "audit-events";

    /// <summary>
    /// Key for hashing client addresses, so analytics can group by address without holding any. From
    /// Secret Manager in production; the dev stack and tests set their own.
    /// </summary>
    [System.ComponentModel.DataAnnotations.Required, System.ComponentModel.DataAnnotations.MinLength(16)]
    public string IpHashSalt { get; set; } = "";
}

[OptionsValidator]
public sealed partial class AuditOptionsValidator : IValidateOptions<AuditOptions>;

/// <summary>
/// Hands audit events to the batching publisher without waiting: a full buffer drops (and counts)
/// events rather than slowing the request that caused them.
/// </summary>
internal sealed class AuditLog(PubSubPublisher publisher, IOptions<AuditOptions> options, TimeProvider time)
{
    private const string ServiceName = "inference-api";
    private readonly byte[] _salt = Encoding.UTF8.GetBytes(options.Value.IpHashSalt);

    public void Record(string eventType, HttpContext? context, string? userId = null, string? ip = null, string? keyId = null,
        string? reason = null, IReadOnlyDictionary<string, string>? details = null)
    {
        var auditEvent = new AuditEvent(
            Guid.CreateVersion7().ToString(),
            time.GetUtcNow(),
            eventType,
            ServiceName,
            context?.TraceIdentifier,
            userId,
            ip is null ? null : HashIp(ip),
            keyId,
            reason,
            details is null ? null : JsonSerializer.Serialize(details, AppJson.Default.IReadOnlyDictionaryStringString));
        var payload = JsonSerializer.SerializeToUtf8Bytes(auditEvent, AppJson.Default.AuditEvent);
        publisher.TryPublish(options.Value.Topic, new PubSubMessage(payload, new Dictionary<string, string> { ["event_type"] = eventType }));
    }

    public string HashIp(string ip) => Convert.ToHexStringLower(HMACSHA256.HashData(_salt, Encoding.UTF8.GetBytes(ip)))[..32];
}
