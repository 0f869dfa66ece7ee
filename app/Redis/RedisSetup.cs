using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Majestix.InferenceApi.Redis;

internal static class RedisSetup
{
    public static WebApplicationBuilder AddRedis(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        builder.Services.AddOptions<RedisOptions>()
            .BindConfiguration(RedisOptions.SectionName)
            .Configure(options =>
            {
                if (string.IsNullOrEmpty(options.Configuration))
                {
                    options.Configuration = configuration.GetConnectionString("redis") ?? configuration["REDIS_URL"] ?? "";
                }
                options.Password ??= configuration["REDIS_AUTH"];
                options.TlsCaCertificate ??= configuration["REDIS_TLS_CA_CERT"] is { Length: > 0 } pem ? pem : null;
                if (Enum.TryParse<RedisFailurePolicy>(configuration["REDIS_FAILURE_POLICY"], ignoreCase: true, out var policy))
                {
                    options.FailurePolicy = policy;
                }
            })
            .Validate(options => configuration["REDIS_FAILURE_POLICY"] is null or "" || Enum.TryParse<RedisFailurePolicy>(configuration["REDIS_FAILURE_POLICY"], true, out _),
                "REDIS_FAILURE_POLICY must be 'reject' or 'allow'")
            .Validate(options => TryParse(options, out _), "Redis configuration must be a StackExchange.Redis configuration string or a redis:// URL")
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<RedisOptions>, RedisOptionsValidator>();

        // One multiplexer per process (StackExchange.Redis guidance): it pipelines every caller.
        builder.Services.AddSingleton<IConnectionMultiplexer>(services =>
        {
            var options = services.GetRequiredService<IOptions<RedisOptions>>().Value;
            return TryParse(options, out var redisConfiguration)
                ? ConnectionMultiplexer.Connect(redisConfiguration!)
                : throw new OptionsValidationException(RedisOptions.SectionName, typeof(RedisOptions), ["Redis configuration is invalid"]);
        });
        builder.Services.AddSingleton<RedisGuard>();
        return builder;
    }

    internal static bool TryParse(RedisOptions options, out ConfigurationOptions? parsed)
    {
        parsed = null;
        try
        {
            parsed = options.Configuration.StartsWith("redis://", StringComparison.OrdinalIgnoreCase)
                || options.Configuration.StartsWith("rediss://", StringComparison.OrdinalIgnoreCase)
                ? FromUrl(new Uri(options.Configuration))
                : ConfigurationOptions.Parse(options.Configuration);
        }
        catch (Exception exception) when (exception is ArgumentException or UriFormatException or RedisConnectionException)
        {
            return false;
        }
        if (!string.IsNullOrEmpty(options.Password))
        {
            parsed.Password = options.Password;
        }
        if (!string.IsNullOrEmpty(options.TlsCaCertificate))
        {
            var authority = X509Certificate2.CreateFromPem(options.TlsCaCertificate);
            parsed.Ssl = true;
            parsed.CertificateValidation += (_, certificate, _, errors) => IsIssuedBy(authority, certificate, errors);
        }
        parsed.AbortOnConnectFail = false;
        parsed.ConnectTimeout = options.ConnectTimeoutMilliseconds;
        parsed.SyncTimeout = options.CommandTimeoutMilliseconds;
        parsed.AsyncTimeout = options.CommandTimeoutMilliseconds;
        // While disconnected, fail commands at once instead of queueing them: queued requests are
        // exactly the thread and memory pile-up an outage must not cause.
        parsed.BacklogPolicy = BacklogPolicy.FailFast;
        parsed.ReconnectRetryPolicy = new ExponentialRetry(deltaBackOffMilliseconds: 250, maxDeltaBackOffMilliseconds: 2_000);
        parsed.ConnectRetry = 1;
        parsed.ClientName ??= "inference-api";
        return true;
    }

    /// <summary>
    /// The server certificate must chain to the instance's own CA. The host name is not compared: clients
    /// reach Memorystore by private IP, and a CA that signs for one instance only already pins the server.
    /// </summary>
    internal static bool IsIssuedBy(X509Certificate2 authority, X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
        {
            return false;
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var presented = new X509Certificate2(certificate);
        return chain.Build(presented);
    }

    private static ConfigurationOptions FromUrl(Uri url)
    {
        var parsed = new ConfigurationOptions { Ssl = url.Scheme.Equals("rediss", StringComparison.OrdinalIgnoreCase) };
        parsed.EndPoints.Add(url.Host, url.IsDefaultPort || url.Port <= 0 ? 6379 : url.Port);
        if (!string.IsNullOrEmpty(url.UserInfo))
        {
            var parts = Uri.UnescapeDataString(url.UserInfo).Split(':', 2);
            if (parts.Length == 2)
            {
                parsed.User = parts[0].Length > 0 ? parts[0] : null;
                parsed.Password = parts[1];
            }
            else
            {
                parsed.Password = parts[0];
            }
        }
        var database = url.AbsolutePath.Trim('/');
        if (database.Length > 0 && int.TryParse(database, System.Globalization.CultureInfo.InvariantCulture, out var db))
        {
            parsed.DefaultDatabase = db;
        }
        return parsed;
    }
}
