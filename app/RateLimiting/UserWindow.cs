namespace Majestix.InferenceApi.RateLimiting;

/// <summary>
/// The per-user windows, each counted apart: model calls at the plan's rate, everything else at one generous
/// rate, and agent calls per billed user. Which one a route counts in is its <see cref="Identity.CallerRequirement"/>'s.
/// </summary>
public enum UserWindow
{
    ModelCalls,
    Reads,
    AgentCalls,
}
