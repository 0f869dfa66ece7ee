using Microsoft.Extensions.Options;
using Stripe;

namespace Majestix.InferenceApi.Billing;

internal static class BillingSetup
{
    /// <summary>Stripe (one client; its API base from <c>STRIPE_API_BASE</c>), the webhook's event handlers, auto top-up.</summary>
    public static WebApplicationBuilder AddBilling(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var configuration = builder.Configuration;
        services.AddSingleton<IValidateOptions<BillingOptions>, BillingOptionsValidator>();
        services.AddOptions<BillingOptions>().BindConfiguration(BillingOptions.SectionName)
            .Configure(options =>
            {
                // Deployment sets the flat names (infra/); the section stays available for tests and local overrides.
                static void From(string? value, Action<string> set)
                {
                    if (!string.IsNullOrEmpty(value))
                    {
                        set(value);
                    }
                }
                From(configuration["STRIPE_SECRET_KEY"], v => options.SecretKey = v);
                From(configuration["STRIPE_WEBHOOK_SECRET"], v => options.WebhookSecret = v);
                From(configuration["STRIPE_API_BASE"], v => options.ApiBase = v);
                From(configuration["STRIPE_GURU_PRICE_ID"], v => options.GuruPriceId = v);
                From(configuration["STRIPE_PRO_PRICE_ID"], v => options.ProPriceId = v);
                From(configuration["STRIPE_TOPUP_5_PRICE_ID"], v => options.Topup5PriceId = v);
                From(configuration["STRIPE_TOPUP_25_PRICE_ID"], v => options.Topup25PriceId = v);
                From(configuration["STRIPE_TOPUP_100_PRICE_ID"], v => options.Topup100PriceId = v);
                From(configuration["WEB_APP_URL"], v => options.WebAppUrl = v);
            })
            .ValidateOnStart();
        services.AddHttpClient("stripe", http => http.Timeout = TimeSpan.FromSeconds(30));
        services.AddSingleton(provider =>
        {
            var options = provider.GetRequiredService<IOptions<BillingOptions>>().Value;
            var http = provider.GetRequiredService<IHttpClientFactory>().CreateClient("stripe");
            return new StripeClient(new StripeClientOptions
            {
                ApiKey = options.SecretKey,
                ApiBase = options.ApiBase.TrimEnd('/'),
                HttpClient = new SystemNetHttpClient(http, maxNetworkRetries: 2, appInfo: null, enableTelemetry: false),
            });
        });
        services.AddSingleton<BillingCatalog>();
        services.AddSingleton<BillingStore>();
        services.AddSingleton<PlanChanges>();
        services.AddSingleton<StripeEvents>();
        services.AddSingleton<AutoTopup>();
        services.AddHostedService(provider => provider.GetRequiredService<AutoTopup>());
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, BillingJson.Default));
        return builder;
    }
}
