using Microsoft.AspNetCore.Http.HttpResults;

namespace Majestix.DevIdentity;

public sealed record FirebaseTokenRequest(string Uid, string? Email, bool Admin = false, int? LifetimeMinutes = null);

public sealed record AppCheckTokenRequest(string? AppId = null, int? LifetimeMinutes = null);

public sealed record OidcTokenRequest(string Email, string Audience, int? LifetimeMinutes = null);

public sealed record TokenResponse(string Token);

/// <summary>Key sets at the paths the services are configured with locally, and token minting for scripts.</summary>
internal static class TokenEndpoints
{
    private const int MaxLifetimeMinutes = 7 * 24 * 60;

    public static WebApplication MapTokenEndpoints(this WebApplication app)
    {
        var keySets = app.MapGroup("/keys");
        keySets.MapGet("/firebase", (SigningKeys keys, HttpContext context) => Jwks(keys, SigningKeys.Firebase, context));
        keySets.MapGet("/appcheck", (SigningKeys keys, HttpContext context) => Jwks(keys, SigningKeys.AppCheck, context));
        keySets.MapGet("/google", (SigningKeys keys, HttpContext context) => Jwks(keys, SigningKeys.Google, context));

        var tokens = app.MapGroup("/tokens");
        tokens.MapPost("/firebase", MintFirebaseToken);
        tokens.MapPost("/appcheck", MintAppCheckToken);
        tokens.MapPost("/oidc", MintOidcToken);
        return app;
    }

    private static Results<Ok<TokenResponse>, BadRequest<ErrorBody>> MintFirebaseToken(FirebaseTokenRequest request, DevTokenIssuer issuer)
    {
        if (string.IsNullOrWhiteSpace(request.Uid))
        {
            return Invalid("uid is required");
        }
        return LifetimeOf(request.LifetimeMinutes) is { } lifetime
            ? TypedResults.Ok(new TokenResponse(issuer.FirebaseIdToken(request.Uid, request.Email, request.Admin, lifetime)))
            : InvalidLifetime();
    }

    private static Results<Ok<TokenResponse>, BadRequest<ErrorBody>> MintAppCheckToken(AppCheckTokenRequest request, DevTokenIssuer issuer) =>
        LifetimeOf(request.LifetimeMinutes) is { } lifetime
            ? TypedResults.Ok(new TokenResponse(issuer.AppCheckToken(request.AppId, lifetime)))
            : InvalidLifetime();

    private static Results<Ok<TokenResponse>, BadRequest<ErrorBody>> MintOidcToken(OidcTokenRequest request, DevTokenIssuer issuer)
    {
        if (string.IsNullOrWhiteSpace(request.Email) || string.IsNullOrWhiteSpace(request.Audience))
        {
            return Invalid("email and audience are required");
        }
        return LifetimeOf(request.LifetimeMinutes) is { } lifetime
            ? TypedResults.Ok(new TokenResponse(issuer.GoogleOidcToken(request.Email, request.Audience, lifetime)))
            : InvalidLifetime();
    }

    private static ContentHttpResult Jwks(SigningKeys keys, string issuer, HttpContext context)
    {
        // Verifiers cache key sets per Cache-Control, as they do with Google's.
        context.Response.Headers.CacheControl = "public, max-age=3600";
        return TypedResults.Text(keys.PublicJwks(issuer), "application/json");
    }

    private static TimeSpan? LifetimeOf(int? minutes) => minutes switch
    {
        null => TimeSpan.FromHours(1),
        >= 1 and <= MaxLifetimeMinutes => TimeSpan.FromMinutes(minutes.Value),
        _ => null,
    };

    private static BadRequest<ErrorBody> InvalidLifetime() => Invalid($"lifetime_minutes must be between 1 and {MaxLifetimeMinutes}");

    private static BadRequest<ErrorBody> Invalid(string detail) => TypedResults.BadRequest(new ErrorBody(detail));
}

public sealed record ErrorBody(string Detail);
