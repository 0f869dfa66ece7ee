using Majestix.GoogleCloud;
using Majestix.GoogleCloud.Firestore;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Firestore REST client.</summary>
public static class FirestoreServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="FirestoreClient"/> as a typed HttpClient, binds <see cref="FirestoreOptions"/>
    /// from the <c>Firestore</c> section (validated at startup) and falls back to
    /// <c>FIRESTORE_EMULATOR_HOST</c> for the emulator host.
    /// </summary>
    public static IHttpClientBuilder AddFirestore(this IServiceCollection services, Action<FirestoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<FirestoreOptions>().BindSectionIfPresent(FirestoreOptions.SectionName);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.PostConfigure(o => o.EmulatorHost ??= GoogleEndpoints.NullIfEmpty(Environment.GetEnvironmentVariable(FirestoreOptions.EmulatorHostVariable)));
        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<FirestoreOptions>, FirestoreOptionsValidator>());
        services.TryAddSingleton<IGoogleAccessTokenSource, ApplicationDefaultTokenSource>();

        return services
            .AddHttpClient<FirestoreClient>((provider, http) =>
                http.BaseAddress = provider.GetRequiredService<IOptions<FirestoreOptions>>().Value.BaseAddress)
            .ConfigureAdditionalHttpMessageHandlers((handlers, provider) =>
            {
                var settings = provider.GetRequiredService<IOptions<FirestoreOptions>>().Value;
                // The emulator treats "Bearer owner" as an admin caller, matching production where
                // IAM-authenticated server calls bypass security rules.
                handlers.Add(settings.UsesEmulator
                    ? new StaticBearerHandler("owner")
                    : new GoogleAuthHandler(provider.GetRequiredService<IGoogleAccessTokenSource>()));
            });
    }
}
