using Majestix.GoogleCloud;
using Majestix.GoogleCloud.PubSub;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Pub/Sub REST client and the batching publisher.</summary>
public static class PubSubServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="PubSubClient"/> (typed HttpClient) and a singleton <see cref="PubSubPublisher"/>
    /// that is also a hosted service, so stopping the host flushes buffered messages. Binds
    /// <see cref="PubSubOptions"/> from the <c>PubSub</c> section (validated at startup) and falls
    /// back to <c>PUBSUB_EMULATOR_HOST</c> for the emulator host.
    /// </summary>
    public static IHttpClientBuilder AddPubSub(this IServiceCollection services, Action<PubSubOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<PubSubOptions>().BindSectionIfPresent(PubSubOptions.SectionName);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.PostConfigure(o => o.EmulatorHost ??= GoogleEndpoints.NullIfEmpty(Environment.GetEnvironmentVariable(PubSubOptions.EmulatorHostVariable)));
        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PubSubOptions>, PubSubOptionsValidator>());
        services.TryAddSingleton<IGoogleAccessTokenSource, ApplicationDefaultTokenSource>();
        services.TryAddSingleton<PubSubPublisher>();
        services.AddHostedService(provider => provider.GetRequiredService<PubSubPublisher>());

        return services
            .AddHttpClient<PubSubClient>((provider, http) =>
                http.BaseAddress = provider.GetRequiredService<IOptions<PubSubOptions>>().Value.BaseAddress)
            // The singleton publisher keeps its client for the process lifetime, so connections are
            // recycled by the socket handler instead of by handler rotation (which it would never see).
            .UseSocketsHttpHandler((handler, _) => handler.PooledConnectionLifetime = TimeSpan.FromMinutes(2))
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan)
            .ConfigureAdditionalHttpMessageHandlers((handlers, provider) =>
            {
                if (!provider.GetRequiredService<IOptions<PubSubOptions>>().Value.UsesEmulator)
                {
                    handlers.Add(new GoogleAuthHandler(provider.GetRequiredService<IGoogleAccessTokenSource>()));
                }
            });
    }
}
