using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Majestix.InferenceApi.Identity;

public sealed record WebIdentity(string UserId, string? Email, bool IsAdmin);

/// <summary>
/// Who the token names, or why it was refused (for audit events, never shown to the client). With
/// <paramref name="KeysUnavailable"/> the token could not be judged at all: our outage, not the caller's failure.
/// </summary>
public sealed record TokenCheck<T>(T? Identity, string? FailureReason, bool KeysUnavailable = false)
    where T : class;

internal static class TokenCheck
{
    public static TokenCheck<T> Ok<T>(T identity)
        where T : class => new(identity, null);

    public static TokenCheck<T> Fail<T>(string reason)
        where T : class => new(null, reason);

    public static TokenCheck<T> Unavailable<T>(string reason)
        where T : class => new(null, reason, KeysUnavailable: true);
}

/// <summary>
/// Verifies the three token kinds the API accepts: Firebase ID tokens and App Check tokens (web), and
/// Google-signed OIDC ID tokens (internal). RS256 only, against the published key sets; every claim
/// that decides who the caller is gets checked here and nowhere else.
/// </summary>
internal sealed class TokenVerifier
{
    private const int MaxTokenLength = 10_000;
    private static readonly string[] GoogleIssuers = ["https://accounts.google.com", "accounts.google.com"];

    private readonly IdentityOptions _options;
    private readonly TimeProvider _time;
    private readonly KeySetCache _firebaseKeys;
    private readonly KeySetCache _appCheckKeys;
    private readonly KeySetCache _googleKeys;
    private readonly JsonWebTokenHandler _handler = new() { MaximumTokenSizeInBytes = MaxTokenLength };

    public TokenVerifier(IHttpClientFactory httpClients, IOptions<IdentityOptions> options, TimeProvider time, ILogger<TokenVerifier> logger)
    {
        _options = options.Value;
        _time = time;
        var lifetime = TimeSpan.FromSeconds(_options.DefaultKeySetLifetimeSeconds);
        var maxStale = TimeSpan.FromSeconds(_options.KeySetMaxStaleSeconds);
        var http = httpClients.CreateClient(nameof(TokenVerifier));
        _firebaseKeys = new KeySetCache(http, _options.FirebaseKeysUrl, lifetime, maxStale, time, logger);
        _appCheckKeys = new KeySetCache(http, _options.AppCheckKeysUrl, lifetime, maxStale, time, logger);
        _googleKeys = new KeySetCache(http, _options.GoogleKeysUrl, lifetime, maxStale, time, logger);
    }

    private TimeSpan Skew => TimeSpan.FromSeconds(_options.ClockSkewSeconds);

    public async Task<TokenCheck<WebIdentity>> VerifyFirebaseIdTokenAsync(string token, CancellationToken cancellationToken)
    {
        var (claims, failure, unavailable) = await ValidateAsync(token, _firebaseKeys,
            [$"https://securetoken.google.com/{_options.FirebaseProjectId}"], [_options.FirebaseProjectId], "id_token", cancellationToken);
        if (claims is null)
        {
            return unavailable ? TokenCheck.Unavailable<WebIdentity>(failure!) : TokenCheck.Fail<WebIdentity>(failure!);
        }

        var subject = Claim(claims, "sub");
        if (string.IsNullOrEmpty(subject) || subject.Length > 128)
        {
            return TokenCheck.Fail<WebIdentity>("id_token_bad_subject");
        }
        var now = _time.GetUtcNow();
        if (!long.TryParse(Claim(claims, "auth_time"), out var authTime) || DateTimeOffset.FromUnixTimeSeconds(authTime) > now + Skew)
        {
            return TokenCheck.Fail<WebIdentity>("id_token_bad_auth_time");
        }
        var admin = claims.TryGetValue("admin", out var adminClaim) && adminClaim is true;
        return TokenCheck.Ok<WebIdentity>(new WebIdentity(subject, Claim(claims, "email"), admin));
    }

    public async Task<TokenCheck<string>> VerifyAppCheckTokenAsync(string token, CancellationToken cancellationToken)
    {
        var (claims, failure, unavailable) = await ValidateAsync(token, _appCheckKeys,
            [$"https://firebaseappcheck.googleapis.com/{_options.FirebaseProjectNumber}"],
            [$"projects/{_options.FirebaseProjectNumber}", $"projects/{_options.FirebaseProjectId}"], "app_check", cancellationToken);
        if (claims is null)
        {
            return unavailable ? TokenCheck.Unavailable<string>(failure!) : TokenCheck.Fail<string>(failure!);
        }
        // The audience list must name the project by number; the project id alone is not enough.
        if (!Audiences(claims).Contains($"projects/{_options.FirebaseProjectNumber}"))
        {
            return TokenCheck.Fail<string>("app_check_bad_audience");
        }
        var appId = Claim(claims, "sub");
        if (string.IsNullOrEmpty(appId) || (_options.AppCheckAppIds.Count > 0 && !_options.AppCheckAppIds.Contains(appId)))
        {
            return TokenCheck.Fail<string>("app_check_unknown_app");
        }
        return TokenCheck.Ok<string>(appId);
    }

    public async Task<TokenCheck<string>> VerifyGoogleOidcTokenAsync(string token, CancellationToken cancellationToken)
    {
        var (claims, failure, unavailable) = await ValidateAsync(token, _googleKeys, GoogleIssuers, [_options.InternalAudience], "oidc", cancellationToken);
        if (claims is null)
        {
            return unavailable ? TokenCheck.Unavailable<string>(failure!) : TokenCheck.Fail<string>(failure!);
        }
        var email = Claim(claims, "email");
        if (email is null || !(claims.TryGetValue("email_verified", out var verified) && verified is true))
        {
            return TokenCheck.Fail<string>("oidc_unverified_email");
        }
        if (!_options.InternalServiceAccounts.Contains(email, StringComparer.OrdinalIgnoreCase))
        {
            return TokenCheck.Fail<string>("oidc_email_not_allowed");
        }
        return TokenCheck.Ok<string>(email);
    }

    private async Task<(IDictionary<string, object>? Claims, string? Failure, bool KeysUnavailable)> ValidateAsync(
        string token, KeySetCache keySet, string[] issuers, string[] audiences, string kind, CancellationToken cancellationToken)
    {
        if (token.Length is 0 or > MaxTokenLength)
        {
            return (null, $"{kind}_malformed", false);
        }
        JsonWebToken parsed;
        try
        {
            parsed = new JsonWebToken(token);
        }
        catch (ArgumentException)
        {
            return (null, $"{kind}_malformed", false);
        }
        // A token without kid is not one of these (Firebase custom tokens, legacy HS256): refuse it.
        if (string.IsNullOrEmpty(parsed.Kid) || parsed.Alg != SecurityAlgorithms.RsaSha256)
        {
            return (null, $"{kind}_bad_header", false);
        }

        IReadOnlyList<SecurityKey> keys;
        try
        {
            keys = await keySet.GetKeysAsync(parsed.Kid, cancellationToken);
        }
        catch (KeySetUnavailableException)
        {
            return (null, $"{kind}_keys_unavailable", true);
        }

        var result = await _handler.ValidateTokenAsync(parsed, new TokenValidationParameters
        {
            ValidIssuers = issuers,
            ValidAudiences = audiences,
            IssuerSigningKeys = keys,
            ValidAlgorithms = [SecurityAlgorithms.RsaSha256],
            RequireSignedTokens = true,
            // Lifetime is checked below against the injected clock, with iat, which the handler ignores.
            ValidateLifetime = false,
        });
        if (!result.IsValid)
        {
            return (null, $"{kind}_{Reason(result.Exception)}", false);
        }
        var now = _time.GetUtcNow();
        if (UnixTime(result.Claims, "exp") is not { } expires)
        {
            return (null, $"{kind}_no_expiry", false);
        }
        if (expires + Skew <= now)
        {
            return (null, $"{kind}_expired", false);
        }
        if (UnixTime(result.Claims, "iat") is not { } issuedAt || issuedAt > now + Skew)
        {
            return (null, $"{kind}_bad_issued_at", false);
        }
        if (UnixTime(result.Claims, "nbf") is { } notBefore && notBefore > now + Skew)
        {
            return (null, $"{kind}_not_yet_valid", false);
        }
        return (result.Claims, null, false);
    }

    private static string Reason(Exception? exception) => exception switch
    {
        SecurityTokenExpiredException => "expired",
        SecurityTokenNotYetValidException => "not_yet_valid",
        SecurityTokenInvalidIssuerException => "bad_issuer",
        SecurityTokenInvalidAudienceException => "bad_audience",
        SecurityTokenSignatureKeyNotFoundException or SecurityTokenInvalidSignatureException => "bad_signature",
        SecurityTokenNoExpirationException => "no_expiry",
        _ => "invalid",
    };

    private static DateTimeOffset? UnixTime(IDictionary<string, object> claims, string name) =>
        claims.TryGetValue(name, out var value) && long.TryParse(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture), out var seconds)
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : null;

    private static string? Claim(IDictionary<string, object> claims, string name) =>
        claims.TryGetValue(name, out var value) ? Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) : null;

    private static IEnumerable<string> Audiences(IDictionary<string, object> claims) =>
        claims.TryGetValue("aud", out var value) switch
        {
            false => [],
            true when value is string single => [single],
            true when value is IEnumerable<object> many => many.Select(a => Convert.ToString(a, System.Globalization.CultureInfo.InvariantCulture) ?? ""),
            _ => [],
        };
}

