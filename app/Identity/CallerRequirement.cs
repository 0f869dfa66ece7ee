namespace Majestix.InferenceApi.Identity;

/// <summary>Which callers an endpoint group admits; applied once per group with <see cref="CallerRequirementExtensions.RequireCaller{T}"/>.</summary>
public sealed record CallerRequirement(bool AllowsApiKey, bool AllowsWeb, bool AllowsAgent, bool RequiresAdmin = false)
{
    /// <summary><c>/chat</c>, <c>/code</c>, <c>/models</c>, …: an API key or a signed-in web user.</summary>
    public static CallerRequirement KeyOrWeb { get; } = new(true, true, false);

    /// <summary>Account management (<c>/api-keys</c>, billing): a signed-in web user only.</summary>
    public static CallerRequirement WebOnly { get; } = new(false, true, false);

    /// <summary>Admin endpoints: a web user whose token carries the <c>admin</c> claim.</summary>
    public static CallerRequirement Admin { get; } = new(false, true, false, RequiresAdmin: true);

    /// <summary><c>/internal/*</c>: Google-signed OIDC tokens from allowlisted service accounts only.</summary>
    public static CallerRequirement Internal { get; } = new(false, false, true);
}

public static class CallerRequirementExtensions
{
    public static TBuilder RequireCaller<TBuilder>(this TBuilder builder, CallerRequirement requirement)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(requirement);
}
