using Majestix.InferenceApi.RateLimiting;

namespace Majestix.InferenceApi.Identity;

/// <summary>
/// Which callers an endpoint group admits, and which per-user window its requests count in (<see cref="UserWindow"/>):
/// the plan's model-call limit for <see cref="ModelCall"/>, the reads limit for every other public route. Applied
/// once per group with <see cref="CallerRequirementExtensions.RequireCaller{T}"/> (an endpoint's own wins over its group's).
/// </summary>
public sealed record CallerRequirement(bool AllowsApiKey, bool AllowsWeb, bool AllowsAgent, bool RequiresAdmin = false, bool IsModelCall = false)
{
    /// <summary><c>/chat</c>, <c>/code</c>, <c>/v1/chat/completions</c>: an API key or a signed-in web user, counted at the plan's rate.</summary>
    public static CallerRequirement ModelCall { get; } = new(true, true, false, IsModelCall: true);

    /// <summary><c>/models</c>, <c>/usage</c>, <c>/me</c>, <c>/sessions</c>, …: an API key or a signed-in web user.</summary>
    public static CallerRequirement KeyOrWeb { get; } = new(true, true, false);

    /// <summary>Account management (<c>/api-keys</c>, billing): a signed-in web user only.</summary>
    public static CallerRequirement WebOnly { get; } = new(false, true, false);

    /// <summary>Admin endpoints: a web user whose token carries the <c>admin</c> claim.</summary>
    public static CallerRequirement Admin { get; } = new(false, true, false, RequiresAdmin: true);

    /// <summary><c>/internal/*</c>: Google-signed OIDC tokens from allowlisted service accounts only.</summary>
    public static CallerRequirement Internal { get; } = new(false, false, true);

    /// <summary>The per-user window a caller of this route counts in (agent calls count per billed user, in the endpoint).</summary>
    public UserWindow Window => IsModelCall ? UserWindow.ModelCalls : UserWindow.Reads;
}

public static class CallerRequirementExtensions
{
    public static TBuilder RequireCaller<TBuilder>(this TBuilder builder, CallerRequirement requirement)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(requirement);
}
