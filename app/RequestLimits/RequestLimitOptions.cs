using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Majestix.InferenceApi.RequestLimits;

/// <summary>
/// The largest request body each kind of endpoint accepts, answered 413 before anything reads it. Model calls
/// carry prompts, histories and tool results; every other body is a small JSON object.
/// </summary>
public sealed class RequestLimitOptions
{
    public const string SectionName = "RequestLimits";

    /// <summary><c>/code</c>, <c>/chat</c>, <c>/v1/chat/completions</c>, <c>/internal/agent/code</c>.</summary>
    [Range(1_024, 30_000_000)]
    public int ModelCallBytes { get; set; } = 2 * 1024 * 1024;

    /// <summary>Every other endpoint that takes a body (<c>/api-keys</c>, <c>/admin/credits/grant</c>, …).</summary>
    [Range(256, 30_000_000)]
    public int DefaultBytes { get; set; } = 16 * 1024;
}

[OptionsValidator]
public sealed partial class RequestLimitOptionsValidator : IValidateOptions<RequestLimitOptions>;
