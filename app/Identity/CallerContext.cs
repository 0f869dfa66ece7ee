namespace Majestix.InferenceApi.Identity;

public enum CallerSource
{
    ApiKey,
    Web,
    Agent,
}

public enum Plan
{
    Free,
    Guru,
    Pro,
}

/// <summary>
/// Who is calling, resolved once per request by <see cref="CallerGate"/> and read by everything after
/// it. Agent callers (OIDC) carry the service account; the user they bill is named in the body.
/// </summary>
public sealed record CallerContext(
    CallerSource Source,
    string? UserId,
    Plan Plan,
    string? KeyId = null,
    bool IsAdmin = false,
    string? ServiceAccount = null)
{
    public string SourceName => Source switch
    {
        CallerSource.ApiKey => "api_key",
        CallerSource.Web => "web",
        _ => "agent",
    };

    /// <summary>Lets handlers take the caller as a parameter.</summary>
    public static ValueTask<CallerContext?> BindAsync(HttpContext context) =>
        ValueTask.FromResult(context.Features.Get<CallerContext>());
}

internal static class Plans
{
    public static string WireName(this Plan plan) => plan switch
    {
        Plan.Guru => "guru",
        Plan.Pro => "pro",
        _ => "free",
    };

    /// <summary>Unknown or missing plans fall back to Free: never more than the user paid for.</summary>
    public static Plan Parse(string? value) => value?.ToLowerInvariant() switch
    {
        "guru" => Plan.Guru,
        "pro" => Plan.Pro,
        _ => Plan.Free,
    };
}
