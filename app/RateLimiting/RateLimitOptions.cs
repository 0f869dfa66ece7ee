using System.ComponentModel.DataAnnotations;
using Majestix.InferenceApi.Identity;
using Microsoft.Extensions.Options;

namespace Majestix.InferenceApi.RateLimiting;

public sealed class RateLimitOptions
{
    public const string SectionName = "RateLimits";

    [Range(1, 1_000_000)]
    public int FreePerMinute { get; set; } = 10;

    [Range(1, 1_000_000)]
    public int GuruPerMinute { get; set; } = 30;

    [Range(1, 1_000_000)]
    public int ProPerMinute { get; set; } = 100;

    /// <summary>
    /// Per-user requests per minute on every route that is not a model call (model lists, usage, keys, sessions, billing),
    /// whatever the plan, in a window of its own: polling a balance never uses up the model-call limit above.
    /// </summary>
    [Range(1, 1_000_000)]
    public int ReadsPerMinute { get; set; } = 600;

    /// <summary>Agent calls (<c>/internal/agent/code</c>) per minute for each billed user.</summary>
    [Range(1, 1_000_000)]
    public int AgentPerMinute { get; set; } = 60;

    /// <summary>Requests per minute from one client address (an IPv6 /64), authenticated or not (0 disables).</summary>
    [Range(0, 1_000_000)]
    public int PerIpPerMinute { get; set; } = 600;

    /// <summary>Failed authentications from one address within <see cref="AuthFailureWindowSeconds"/> that block it.</summary>
    [Range(1, 10_000)]
    public int AuthFailureThreshold { get; set; } = 10;

    [Range(1, 86_400)]
    public int AuthFailureWindowSeconds { get; set; } = 300;

    [Range(1, 86_400)]
    public int BlockSeconds { get; set; } = 900;

    /// <summary>Proxies in front of the service that append to X-Forwarded-For (Cloud Run: 1).</summary>
    [Range(0, 10)]
    public int TrustedProxyCount { get; set; } = 1;

    public int PerMinute(Plan plan, UserWindow window = UserWindow.ModelCalls) => window switch
    {
        UserWindow.Reads => ReadsPerMinute,
        UserWindow.AgentCalls => AgentPerMinute,
        _ => plan switch
        {
            Plan.Pro => ProPerMinute,
            Plan.Guru => GuruPerMinute,
            _ => FreePerMinute,
        },
    };
}

[OptionsValidator]
public sealed partial class RateLimitOptionsValidator : IValidateOptions<RateLimitOptions>;
