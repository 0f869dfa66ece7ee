using System.Globalization;
using Majestix.Fernet;
using Microsoft.Extensions.Options;

namespace Majestix.InferenceApi.Sessions;

internal static class SessionsSetup
{
    /// <summary>Session options (Fernet keys, TTL per plan, history cap), the store, the sessions endpoints' JSON metadata.</summary>
    public static WebApplicationBuilder AddSessions(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var services = builder.Services;
        services.AddSingleton<IValidateOptions<SessionOptions>, SessionOptionsValidator>();
        services.AddOptions<SessionOptions>()
            .BindConfiguration(SessionOptions.SectionName)
            .Configure(options =>
            {
                if (configuration["FERNET_KEYS"] is { Length: > 0 } keys)
                {
                    options.FernetKeys = keys;
                }
                if (int.TryParse(configuration["SESSION_TTL"], NumberStyles.None, CultureInfo.InvariantCulture, out var freeTtl))
                {
                    options.FreeTtlSeconds = freeTtl;
                }
                if (int.TryParse(configuration["MAX_HISTORY"], NumberStyles.None, CultureInfo.InvariantCulture, out var maxHistory))
                {
                    options.MaxHistory = maxHistory;
                }
            })
            // The parser's message names the entry's position only, never the key material.
            .Validate(options => string.IsNullOrWhiteSpace(options.FernetKeys) || TryParseKeys(options.FernetKeys),
                "FERNET_KEYS must be a comma-separated list of Fernet keys (32 URL-safe base64-encoded bytes each), newest first.")
            .Validate(_ => IsWholeSecondsOrUnset(configuration["SESSION_TTL"]), "SESSION_TTL must be a whole number of seconds.")
            .Validate(_ => IsWholeSecondsOrUnset(configuration["MAX_HISTORY"]), "MAX_HISTORY must be a whole number of messages.")
            .ValidateOnStart();
        services.AddSingleton<SessionStore>();
        // First in the chain: behind the reflection resolver these types would never reach their generated metadata.
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, SessionsJson.Default));
        return builder;
    }

    private static bool TryParseKeys(string keys)
    {
        try
        {
            FernetKeyRing.Parse(keys);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static bool IsWholeSecondsOrUnset(string? value) =>
        string.IsNullOrEmpty(value) || int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out _);
}
