using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Majestix.InferenceApi.UsageEvents;

public sealed class UsageOptions
{
    public const string SectionName = "Usage";

    [Required, RegularExpression("^[A-Za-z][A-Za-z0-9._~+%-]{2,254}$", ErrorMessage = "Usage:Topic (PUBSUB_USAGE_TOPIC) is not a Pub/Sub topic id.")]
    public string Topic { get; set; } = "usage-events";

    /// <summary>
    /// Key of the user-id HMAC. <c>USAGE_USER_HASH_SALT</c>, else the audit salt (<c>AUDIT_IP_HASH_SALT</c>), so a
    /// deployment that has only the audit secret still starts. Changing it re-keys every user in analytics:
    /// set the dedicated secret before data accumulates, then never rotate it casually.
    /// </summary>
    [Required, MinLength(16, ErrorMessage = "Usage:UserHashSalt (USAGE_USER_HASH_SALT, else AUDIT_IP_HASH_SALT) needs at least 16 characters.")]
    public string UserHashSalt { get; set; } = "";
}

[OptionsValidator]
public sealed partial class UsageOptionsValidator : IValidateOptions<UsageOptions>;
