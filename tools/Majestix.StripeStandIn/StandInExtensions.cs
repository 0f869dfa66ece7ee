using Majestix.StripeStandIn.Api;
using Majestix.StripeStandIn.Control;
using Majestix.StripeStandIn.Core;
using Majestix.StripeStandIn.Hosted;
using Majestix.StripeStandIn.Webhooks;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace Majestix.StripeStandIn;

internal static class StandInExtensions
{
    public const string DefaultUrl = "http://127.0.0.1:4242";

    /// <summary>The dev account's fixed prices: id, product name, cents, interval (null: one-time), lookup key, env name.</summary>
    public static readonly (string Id, string Product, long Amount, string? Interval, string LookupKey, string EnvName)[] DevPrices =
    [
        ("price_devGuru", "Guru", 1000, "month", "guru", "STRIPE_GURU_PRICE_ID"),
        ("price_devPro", "Pro", 5000, "month", "pro", "STRIPE_PRO_PRICE_ID"),
        ("price_devTopup5", "Top-up $5", 500, null, "topup_5", "STRIPE_TOPUP_5_PRICE_ID"),
        ("price_devTopup25", "Top-up $25", 2500, null, "topup_25", "STRIPE_TOPUP_25_PRICE_ID"),
        ("price_devTopup100", "Top-up $100", 10000, null, "topup_100", "STRIPE_TOPUP_100_PRICE_ID"),
    ];

    public static WebApplicationBuilder AddStripeStandIn(this WebApplicationBuilder builder)
    {
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["http_ports"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }
        // Nothing is logged per request, whatever the content root (the dll may run from any directory).
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("System.Net.Http.HttpClient", LogLevel.Warning);
        builder.Services.Configure<StandInOptions>(builder.Configuration.GetSection(StandInOptions.SectionName));
        builder.Services.AddSingleton<PublicUrl>();
        builder.Services.AddSingleton<AccountStore>();
        builder.Services.AddSingleton<WebhookDispatcher>();
        builder.Services.AddSingleton<ApiRunner>();
        builder.Services.AddHttpClient(WebhookDispatcher.HttpClientName, client => client.Timeout = TimeSpan.FromSeconds(10));
        return builder;
    }

    public static WebApplication MapStripeStandIn(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<StandInOptions>>().Value;
        var publicUrl = app.Services.GetRequiredService<PublicUrl>();
        if (!string.IsNullOrWhiteSpace(options.PublicUrl))
        {
            publicUrl.Value = options.PublicUrl.TrimEnd('/');
        }
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            if (string.IsNullOrWhiteSpace(options.PublicUrl))
            {
                var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
                if (addresses?.FirstOrDefault() is { } first)
                {
                    publicUrl.Value = first.Replace("://[::]", "://127.0.0.1", StringComparison.Ordinal)
                        .Replace("://0.0.0.0", "://127.0.0.1", StringComparison.Ordinal)
                        .Replace("://+", "://127.0.0.1", StringComparison.Ordinal)
                        .Replace("://*", "://127.0.0.1", StringComparison.Ordinal)
                        .TrimEnd('/');
                }
            }
            PrepareDevAccount(app.Services.GetRequiredService<AccountStore>(), options, publicUrl.Value);
            app.Logger.LogInformation("Stripe stand-in at {Url}: dev account {Key}, dev webhook {Webhook}", publicUrl.Value, options.DevAccountKey, options.DevWebhookUrl ?? "(none)");
        });

        app.MapGet("/health", () => Results.Text("ok"));
        app.MapStripeApi();
        app.MapHostedPages();
        app.MapControl();
        app.MapUnknownApiPaths();
        return app;
    }

    /// <summary>The dev account's five fixed prices and optional dev webhook endpoint (under its gate).</summary>
    public static void SeedDevAccount(Account account, StandInOptions options)
    {
        foreach (var (id, product, amount, interval, lookupKey, _) in DevPrices)
        {
            var productId = "prod_" + id["price_".Length..];
            if (!account.Products.ContainsKey(productId))
            {
                account.CreateProduct(product, id: productId);
            }
            if (!account.Prices.ContainsKey(id))
            {
                account.CreatePrice(productId, "usd", amount, interval, lookupKey, null, id);
            }
        }
        if (!string.IsNullOrWhiteSpace(options.DevWebhookUrl) && !account.WebhookEndpoints.Values.Any(e => Account.Str(e, "url") == options.DevWebhookUrl))
        {
            StripeApi.CreateWebhookEndpoint(account, options.DevWebhookUrl, ["*"], options.DevWebhookSecret, "Majestix dev stack");
        }
    }

    /// <summary>The dev account: the five fixed prices, the optional dev webhook endpoint, the env file.</summary>
    private static void PrepareDevAccount(AccountStore accounts, StandInOptions options, string apiBase)
    {
        var account = accounts.For(options.DevAccountKey);
        lock (account.Gate)
        {
            SeedDevAccount(account, options);
        }
        if (!string.IsNullOrWhiteSpace(options.EnvFile))
        {
            var lines = new List<string>
            {
                $"STRIPE_API_BASE={apiBase}",
                $"STRIPE_SECRET_KEY={options.DevAccountKey}",
                $"STRIPE_WEBHOOK_SECRET={options.DevWebhookSecret}",
            };
            lines.AddRange(DevPrices.Select(p => $"{p.EnvName}={p.Id}"));
            var directory = Path.GetDirectoryName(Path.GetFullPath(options.EnvFile));
            if (directory is not null)
            {
                Directory.CreateDirectory(directory);
            }
            File.WriteAllText(options.EnvFile, string.Join('\n', lines) + "\n");
        }
    }
}
