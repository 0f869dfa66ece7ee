using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Majestix.InferenceApi.Inference;

public sealed class StreamingOptions
{
    public const string SectionName = "Streaming";

    /// <summary>
    /// Longest silence on an open stream before a comment line is sent. Clients abort after 60 s without
    /// data, and long model calls (thinking, slow first tokens) can be quiet for longer than that.
    /// It also bounds how long the status line waits for the first event: a call that fails before
    /// then gets an error status, one that fails after the first keep-alive gets an error event.
    /// </summary>
    [Range(1, 50)]
    public int KeepAliveSeconds { get; set; } = 15;
}

[OptionsValidator]
public sealed partial class StreamingOptionsValidator : IValidateOptions<StreamingOptions>;
