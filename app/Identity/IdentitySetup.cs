using Majestix.InferenceApi.Audit;
using Majestix.InferenceApi.Keys;
using Majestix.InferenceApi.RateLimiting;
using Majestix.InferenceApi.Redis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using StackExchange.Redis.KeyspaceIsolation;

namespace Majestix.InferenceApi.Identity;

internal static class IdentitySetup
{
    /// <summary>Callers, keys, rate limits and the audit trail: everything <see cref="CallerGate"/> needs.</summary>
    public static WebApplicationBuilder AddIdentityAndProtection(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var configuration = builder.Configuration;
        var projectId = configuration["GOOGLE_CLOUD_PROJECT"];

        // Deployment sets the flat names (infra/); the sections stay available for tests and local overrides.
        AddValidated<IdentityOptions, IdentityOptionsValidator>(services, IdentityOptions.SectionName)
            .Configure(options =>
            {
                if (string.IsNullOrEmpty(options.InternalAudience))
                {
                    options.InternalAudience = configuration["OIDC_AUDIENCE"] ?? "";
                }
                if (options.InternalServiceAccounts.Count == 0 && configuration["OIDC_ALLOWED_SERVICE_ACCOUNTS"] is { Length: > 0 } accounts)
                {
                    options.InternalServiceAccounts.AddRange(accounts.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                }
            });
        AddValidated<RateLimitOptions, RateLimitOptionsValidator>(services, RateLimitOptions.SectionName);
        AddValidated<ApiKeyOptions, ApiKeyOptionsValidator>(services, ApiKeyOptions.SectionName);
        AddValidated<AuditOptions, AuditOptionsValidator>(services, AuditOptions.SectionName)
            .Configure(options =>
            {
                options.IpHashSalt = string.IsNullOrEmpty(options.IpHashSalt) ? configuration["AUDIT_IP_HASH_SALT"] ?? "" : options.IpHashSalt;
                options.Topic = configuration["PUBSUB_AUDIT_TOPIC"] is { Length: > 0 } topic ? topic : options.Topic;
            });

        services.AddSingleton(TimeProvider.System);
        services.AddHttpClient(nameof(TokenVerifier), http => http.Timeout = TimeSpan.FromSeconds(5));
        services.AddSingleton<TokenVerifier>();
        services.AddSingleton(provider =>
        {
            var prefix = configuration["Redis:KeyPrefix"];
            var database = provider.GetRequiredService<IConnectionMultiplexer>().GetDatabase();
            return string.IsNullOrEmpty(prefix) ? database : database.WithKeyPrefix(prefix);
        });
        services.AddSingleton<RedisGate>();
        services.AddSingleton<UserLimits>();
        services.AddSingleton<ApiKeyStore>();
        services.AddSingleton<AuditLog>();

        services.AddFirestore(options => options.ProjectId = string.IsNullOrEmpty(options.ProjectId) ? projectId ?? "" : options.ProjectId);
        services.AddPubSub(options => options.ProjectId = string.IsNullOrEmpty(options.ProjectId) ? projectId ?? "" : options.ProjectId);
        return builder;
    }

    private static OptionsBuilder<TOptions> AddValidated<TOptions, TValidator>(IServiceCollection services, string section)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        services.AddSingleton<IValidateOptions<TOptions>, TValidator>();
        return services.AddOptions<TOptions>().BindConfiguration(section).ValidateOnStart();
    }
}
