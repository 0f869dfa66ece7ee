using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Majestix.InferenceApi.Identity;

/// <summary>
/// Where the web and internal token key sets live and what the tokens must say. Production uses
/// Google's URLs (the defaults); the dev stack and tests point the URLs at their own issuers.
/// </summary>
public sealed class IdentityOptions
{
    public const string SectionName = "Identity";

    [Required, RegularExpression("^[a-z][a-z0-9-]{4,29}$")]
    public string FirebaseProjectId { get; set; } = "";

    [Required, RegularExpression("^[0-9]{6,20}$")]
    public string FirebaseProjectNumber { get; set; } = "";

    [Required]
    public Uri FirebaseKeysUrl { get; set; } = new("https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com");

    [Required]
    public Uri AppCheckKeysUrl { get; set; } = new("https://firebaseappcheck.googleapis.com/v1/jwks");

    /// <summary>Firebase app ids allowed to call; empty allows every app of the project.</summary>
    public List<string> AppCheckAppIds { get; set; } = [];

    [Required]
    public Uri GoogleKeysUrl { get; set; } = new("https://www.googleapis.com/oauth2/v3/certs");

    /// <summary>The audience internal callers mint their OIDC tokens for: this service's URL.</summary>
    [Required]
    public string InternalAudience { get; set; } = "";

    /// <summary>Service accounts allowed on <c>/internal/*</c>.</summary>
    [MinLength(1)]
    public List<string> InternalServiceAccounts { get; set; } = [];

    [Range(0, 300)]
    public int ClockSkewSeconds { get; set; } = 60;

    /// <summary>How long a fetched key set is trusted when the response names no max-age.</summary>
    [Range(60, 86_400)]
    public int DefaultKeySetLifetimeSeconds { get; set; } = 3_600;

    /// <summary>
    /// How long past its expiry the last good key set keeps verifying tokens while refreshes fail. Past it
    /// (or with none fetched yet) web and internal callers get 503, never 401.
    /// </summary>
    [Range(0, 604_800)]
    public int KeySetMaxStaleSeconds { get; set; } = 86_400;
}

[OptionsValidator]
public sealed partial class IdentityOptionsValidator : IValidateOptions<IdentityOptions>;
