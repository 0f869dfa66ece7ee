using Majestix.InferenceApi.Audit;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Majestix.InferenceApi.UsageEvents;

internal static class UsageSetup
{
    /// <summary>One usage event per model call, to Pub/Sub and from there to BigQuery <c>usage_events</c>.</summary>
    public static WebApplicationBuilder AddUsageEvents(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var configuration = builder.Configuration;
        services.AddSingleton<IValidateOptions<UsageOptions>, UsageOptionsValidator>();
        services.AddOptions<UsageOptions>().BindConfiguration(UsageOptions.SectionName)
            // Deployment sets the flat names (infra/); the section stays available for tests and local overrides.
            .Configure<IOptions<AuditOptions>>((options, audit) =>
            {
                if (string.IsNullOrEmpty(options.UserHashSalt))
                {
                    options.UserHashSalt = configuration["USAGE_USER_HASH_SALT"] is { Length: > 0 } salt ? salt : audit.Value.IpHashSalt;
                }
                options.Topic = configuration["PUBSUB_USAGE_TOPIC"] is { Length: > 0 } topic ? topic : options.Topic;
            })
            .ValidateOnStart();
        // The publisher itself (and its PubSub options) comes with AddIdentityAndProtection, shared with audit events.
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<UsageLog>();
        return builder;
    }
}
