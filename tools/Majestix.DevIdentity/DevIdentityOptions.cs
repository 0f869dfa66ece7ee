using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Majestix.DevIdentity;

/// <summary>The local stand-in for Firebase Auth, App Check and Google's OIDC signer.</summary>
public sealed class DevIdentityOptions
{
    public const string SectionName = "DevIdentity";

    /// <summary>Where signing keys, seeded API keys and the <c>env</c> file are kept between runs.</summary>
    [Required]
    public string StateDirectory { get; set; } = ".majestix/dev";

    /// <summary>Firebase project id: the ID tokens' audience and the suffix of their issuer.</summary>
    [Required, RegularExpression("^[a-z][a-z0-9-]{4,29}$")]
    public string FirebaseProjectId { get; set; } = "majestix-dev";

    /// <summary>Firebase project number: App Check tokens name it in issuer and audience.</summary>
    [Required, RegularExpression("^[0-9]{6,20}$")]
    public string FirebaseProjectNumber { get; set; } = "100000000001";

    /// <summary>The registered web app whose App Check tokens are minted.</summary>
    [Required]
    public string AppCheckAppId { get; set; } = "1:100000000001:web:majestixdev";

    /// <summary>Lifetime of the tokens written to the env file (at least 12 h for a working day).</summary>
    [Range(12, 168)]
    public int SeededTokenLifetimeHours { get; set; } = 24;

    /// <summary>Seed Firestore, Pub/Sub and the env file at start-up (false: only serve keys and tokens).</summary>
    public bool Seed { get; set; } = true;

    /// <summary>Values copied into the env file so a shell can reach every local service.</summary>
    public Dictionary<string, string> Endpoints { get; set; } = [];
}

[OptionsValidator]
public sealed partial class DevIdentityOptionsValidator : IValidateOptions<DevIdentityOptions>;
