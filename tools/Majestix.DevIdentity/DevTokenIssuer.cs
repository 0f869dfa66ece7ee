using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Majestix.DevIdentity;

/// <summary>
/// Mints tokens shaped like the real ones (Firebase ID tokens, App Check tokens, Google-signed OIDC
/// ID tokens) so the services verify local tokens with exactly the code that verifies production ones;
/// only the key-set URLs differ.
/// </summary>
public sealed class DevTokenIssuer(SigningKeys keys, IOptions<DevIdentityOptions> options, TimeProvider time)
{
    public const string GoogleIssuer = "https://accounts.google.com";
    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false };
    private readonly DevIdentityOptions _options = options.Value;

    public string FirebaseIssuer => $"https://securetoken.google.com/{_options.FirebaseProjectId}";

    public string AppCheckIssuer => $"https://firebaseappcheck.googleapis.com/{_options.FirebaseProjectNumber}";

    public string FirebaseIdToken(string uid, string? email, bool admin, TimeSpan lifetime)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(uid);
        var now = time.GetUtcNow();
        var claims = new Dictionary<string, object>
        {
            ["iss"] = FirebaseIssuer,
            ["aud"] = _options.FirebaseProjectId,
            ["sub"] = uid,
            ["user_id"] = uid,
            ["auth_time"] = now.ToUnixTimeSeconds(),
            ["iat"] = now.ToUnixTimeSeconds(),
            ["exp"] = now.Add(lifetime).ToUnixTimeSeconds(),
            ["firebase"] = new Dictionary<string, object> { ["sign_in_provider"] = "password" },
        };
        if (email is not null)
        {
            claims["email"] = email;
            claims["email_verified"] = true;
        }
        if (admin)
        {
            claims["admin"] = true;
        }
        return Sign(SigningKeys.Firebase, claims);
    }

    public string AppCheckToken(string? appId, TimeSpan lifetime)
    {
        var now = time.GetUtcNow();
        return Sign(SigningKeys.AppCheck, new Dictionary<string, object>
        {
            ["iss"] = AppCheckIssuer,
            ["aud"] = new[] { $"projects/{_options.FirebaseProjectNumber}", $"projects/{_options.FirebaseProjectId}" },
            ["sub"] = appId ?? _options.AppCheckAppId,
            ["iat"] = now.ToUnixTimeSeconds(),
            ["exp"] = now.Add(lifetime).ToUnixTimeSeconds(),
        });
    }

    public string GoogleOidcToken(string email, string audience, TimeSpan lifetime)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(email);
        ArgumentException.ThrowIfNullOrWhiteSpace(audience);
        var now = time.GetUtcNow();
        // Google puts the service account's numeric id in sub; a stable hash of the email stands in.
        var subject = BitConverter.ToUInt64(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(email))).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Sign(SigningKeys.Google, new Dictionary<string, object>
        {
            ["iss"] = GoogleIssuer,
            ["aud"] = audience,
            ["azp"] = subject,
            ["sub"] = subject,
            ["email"] = email,
            ["email_verified"] = true,
            ["iat"] = now.ToUnixTimeSeconds(),
            ["exp"] = now.Add(lifetime).ToUnixTimeSeconds(),
        });
    }

    private string Sign(string issuer, Dictionary<string, object> claims) =>
        _handler.CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims,
            SigningCredentials = keys.CredentialsFor(issuer),
            TokenType = "JWT",
        });
}
