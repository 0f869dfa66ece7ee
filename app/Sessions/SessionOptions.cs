using System.ComponentModel.DataAnnotations;
using Majestix.InferenceApi.Identity;
using Microsoft.Extensions.Options;

namespace Majestix.InferenceApi.Sessions;

public sealed class SessionOptions
{
    public const string SectionName = "Sessions";

    /// <summary><c>FERNET_KEYS</c>: comma-separated Fernet keys, newest first. A secret: never logged or echoed.</summary>
    [Required(ErrorMessage = "FERNET_KEYS is required: a comma-separated list of Fernet keys, newest first.")]
    public string FernetKeys { get; set; } = "";

    /// <summary>Free plan session lifetime; <c>SESSION_TTL</c> overrides it.</summary>
    [Range(60, 2_592_000)]
    public int FreeTtlSeconds { get; set; } = 3_600;

    [Range(60, 2_592_000)]
    public int GuruTtlSeconds { get; set; } = 86_400;

    [Range(60, 2_592_000)]
    public int ProTtlSeconds { get; set; } = 604_800;

    /// <summary><c>MAX_HISTORY</c>: the newest messages kept per session.</summary>
    [Range(1, 1_000)]
    public int MaxHistory { get; set; } = 10;

    public TimeSpan TtlFor(Plan plan) => TimeSpan.FromSeconds(plan switch
    {
        Plan.Guru => GuruTtlSeconds,
        Plan.Pro => ProTtlSeconds,
        _ => FreeTtlSeconds,
    });
}

[OptionsValidator]
public sealed partial class SessionOptionsValidator : IValidateOptions<SessionOptions>;
