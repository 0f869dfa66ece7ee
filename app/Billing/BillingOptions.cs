using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Majestix.InferenceApi.Billing;

/// <summary>
/// Stripe and the money rules around it. The secrets come from the environment (<c>STRIPE_SECRET_KEY</c>,
/// <c>STRIPE_WEBHOOK_SECRET</c>: Secret Manager in production), the price ids from <c>STRIPE_*_PRICE_ID</c>; a service
/// without them does not start.
/// </summary>
public sealed class BillingOptions
{
    public const string SectionName = "Billing";

    [Required(ErrorMessage = "STRIPE_SECRET_KEY is required (sk_live_… or sk_test_…).")]
    [RegularExpression("^(sk|rk)_(live|test)_[A-Za-z0-9_]+$", ErrorMessage = "STRIPE_SECRET_KEY must be a Stripe secret key (sk_live_… or sk_test_…).")]
    public string SecretKey { get; set; } = "";

    /// <summary>One secret, or several separated by commas while the endpoint's secret is being rolled.</summary>
    [Required(ErrorMessage = "STRIPE_WEBHOOK_SECRET is required (whsec_…).")]
    [RegularExpression("^whsec_[A-Za-z0-9_+/=]+(,whsec_[A-Za-z0-9_+/=]+)*$", ErrorMessage = "STRIPE_WEBHOOK_SECRET must be one or more whsec_… secrets, comma-separated.")]
    public string WebhookSecret { get; set; } = "";

    /// <summary><c>STRIPE_API_BASE</c>: Stripe's API, or the local stand-in.</summary>
    [Required, Url]
    public string ApiBase { get; set; } = "https://api.stripe.com";

    [Required(ErrorMessage = "STRIPE_GURU_PRICE_ID is required."), RegularExpression(PriceIdPattern)]
    public string GuruPriceId { get; set; } = "";

    [Required(ErrorMessage = "STRIPE_PRO_PRICE_ID is required."), RegularExpression(PriceIdPattern)]
    public string ProPriceId { get; set; } = "";

    [Required(ErrorMessage = "STRIPE_TOPUP_5_PRICE_ID is required."), RegularExpression(PriceIdPattern)]
    public string Topup5PriceId { get; set; } = "";

    [Required(ErrorMessage = "STRIPE_TOPUP_25_PRICE_ID is required."), RegularExpression(PriceIdPattern)]
    public string Topup25PriceId { get; set; } = "";

    [Required(ErrorMessage = "STRIPE_TOPUP_100_PRICE_ID is required."), RegularExpression(PriceIdPattern)]
    public string Topup100PriceId { get; set; } = "";

    /// <summary><c>WEB_APP_URL</c>: where Checkout and the portal send the user back.</summary>
    [Required, Url]
    public string WebAppUrl { get; set; } = "https://inference-web.web.app";

    /// <summary>How old a signed webhook may be (Stripe's default tolerance).</summary>
    [Range(10, 3_600)]
    public int WebhookToleranceSeconds { get; set; } = 300;

    /// <summary>The largest webhook body read; Stripe's events are a few kilobytes.</summary>
    [Range(1_024, 4_194_304)]
    public int MaxWebhookBytes { get; set; } = 524_288;

    /// <summary>How long one auto top-up holds <c>auto_topup:lock:{uid}</c>: it is never released early.</summary>
    [Range(1, 86_400)]
    public int AutoTopupLockSeconds { get; set; } = 600;

    [Range(1, 24)]
    public int AutoTopupsPerDay { get; set; } = 3;

    /// <summary>How long auto top-up waits after a declined charge.</summary>
    [Range(1, 604_800)]
    public int AutoTopupCooldownSeconds { get; set; } = 4 * 3_600;

    /// <summary>Declined auto top-ups in a row that turn it off until the user turns it on again.</summary>
    [Range(1, 100)]
    public int AutoTopupDeclinesUntilDisabled { get; set; } = 3;

    /// <summary>
    /// After a charge Stripe accepted, how long auto top-up waits for its credits (<c>payment_intent.succeeded</c>) before
    /// it may charge again: the balance stays low until they arrive, and a second charge then would be one too many.
    /// </summary>
    [Range(1, 1_440)]
    public int AutoTopupAwaitCreditsMinutes { get; set; } = 60;

    [Range(1, 100_000)]
    public int AutoTopupMaxMonthlyLimitUsd { get; set; } = 1_000;

    /// <summary>How long an instance trusts its copy of a user's auto top-up settings (a change on another instance reaches it after this).</summary>
    [Range(0, 3_600)]
    public int AutoTopupSettingsCacheSeconds { get; set; } = 60;

    public TimeSpan WebhookTolerance => TimeSpan.FromSeconds(WebhookToleranceSeconds);

    public IReadOnlyList<string> WebhookSecrets => WebhookSecret.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private const string PriceIdPattern = "^price_[A-Za-z0-9]+$";
}

[OptionsValidator]
public sealed partial class BillingOptionsValidator : IValidateOptions<BillingOptions>;
