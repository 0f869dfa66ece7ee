using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Majestix.InferenceApi.Keys;

public sealed class ApiKeyOptions
{
    public const string SectionName = "ApiKeys";

    [Range(1, 3650)]
    public int LifetimeDays { get; set; } = 90;

    [Range(1, 1000)]
    public int MaxActivePerUser { get; set; } = 10;

    /// <summary>How long a verified key is trusted from Redis before Firestore is asked again.</summary>
    [Range(1, 1440)]
    public int CacheMinutes { get; set; } = 15;
}

[OptionsValidator]
public sealed partial class ApiKeyOptionsValidator : IValidateOptions<ApiKeyOptions>;
