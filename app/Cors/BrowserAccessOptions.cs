using Microsoft.Extensions.Options;

namespace Majestix.InferenceApi.Cors;

/// <summary>
/// Which browser origins may call the API with credentials. Production's list (the two Firebase Hosting
/// sites) is in appsettings.json; the dev stack appends the local web console's origins by index.
/// </summary>
public sealed class BrowserAccessOptions
{
    public const string SectionName = "Cors";

    /// <summary>Exact origins (<c>scheme://host[:port]</c>, no path, no wildcard): credentials rule out <c>*</c>.</summary>
    public List<string> AllowedOrigins { get; set; } = [];

    /// <summary>How long a browser may reuse a preflight answer.</summary>
    public int PreflightMaxAgeSeconds { get; set; } = 600;
}

internal sealed class BrowserAccessOptionsValidator : IValidateOptions<BrowserAccessOptions>
{
    public ValidateOptionsResult Validate(string? name, BrowserAccessOptions options)
    {
        var problems = new List<string>();
        foreach (var origin in options.AllowedOrigins)
        {
            if (!IsOrigin(origin))
            {
                problems.Add($"Cors:AllowedOrigins: '{origin}' is not an origin (scheme://host[:port], http or https, nothing after the host or port).");
            }
        }
        if (options.PreflightMaxAgeSeconds is < 0 or > 86_400)
        {
            problems.Add("Cors:PreflightMaxAgeSeconds must be between 0 and 86400.");
        }
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    // An origin as browsers send it: no trailing slash, path, query or user info, so an exact string compare is right.
    private static bool IsOrigin(string origin) =>
        Uri.TryCreate(origin, UriKind.Absolute, out var uri)
        && uri.Scheme is "https" or "http"
        && uri.UserInfo.Length == 0
        && !origin.Contains('*', StringComparison.Ordinal)
        && string.Equals(uri.GetLeftPart(UriPartial.Authority), origin, StringComparison.OrdinalIgnoreCase);
}
