namespace Majestix.StripeStandIn;

/// <summary>The `StandIn` configuration section (appsettings or `StandIn__*` environment variables).</summary>
internal sealed class StandInOptions
{
    public const string SectionName = "StandIn";

    /// <summary>Base of the hosted checkout and portal URLs; the first listen URL when empty.</summary>
    public string? PublicUrl { get; set; }

    /// <summary>The secret key of the account that gets the fixed dev prices (and the dev webhook).</summary>
    public string DevAccountKey { get; set; } = "sk_test_majestix_dev";

    /// <summary>When set, the dev account gets a webhook endpoint for this URL with every event enabled.</summary>
    public string? DevWebhookUrl { get; set; }

    public string DevWebhookSecret { get; set; } = "whsec_majestix_dev_only";

    /// <summary>When set, `KEY=value` lines for an app pointed at the dev account are written here at start-up.</summary>
    public string? EnvFile { get; set; }

    /// <summary>A failed delivery is retried after RetryBaseMilliseconds × 2^(attempt − 1).</summary>
    public int RetryBaseMilliseconds { get; set; } = 1000;

    public int MaxDeliveryAttempts { get; set; } = 8;
}
