using Microsoft.Extensions.Options;

namespace Majestix.InferenceApi.Credits;

internal static class CreditsSetup
{
    /// <summary>Balances, holds and the ledger; the background ledger writer; the reaper; the credits endpoints' JSON metadata.</summary>
    public static WebApplicationBuilder AddCredits(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton<IValidateOptions<CreditOptions>, CreditOptionsValidator>();
        services.AddOptions<CreditOptions>().BindConfiguration(CreditOptions.SectionName).ValidateOnStart();
        services.AddSingleton<CreditLedger>();
        services.AddSingleton<CreditStore>();
        services.AddSingleton<BalanceWatch>();
        services.AddSingleton<UsageReports>();
        services.AddSingleton<LedgerWriter>();
        services.AddHostedService(provider => provider.GetRequiredService<LedgerWriter>());
        services.AddSingleton<CreditReaper>();
        services.AddHostedService(provider => provider.GetRequiredService<CreditReaper>());
        // First in the chain: behind the reflection resolver these types would never reach their generated metadata.
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, CreditsJson.Default));
        return builder;
    }
}
