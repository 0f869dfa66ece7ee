using System.Text;

namespace Majestix.InferenceApi.Inference.Providers;

/// <summary>
/// A whole answer, for callers that asked for no streaming. It is collected from the same upstream stream
/// rather than from the providers' non-streaming calls: one mapper per family instead of two, the same
/// failure classification and timeouts, and a response cut midway still yields what it produced for billing
/// (a non-streaming upstream call that drops returns nothing, while the provider bills the tokens it generated).
/// </summary>
public sealed record ModelResponse(
    string Text,
    string Thinking,
    IReadOnlyList<ToolUse> ToolUses,
    Usage Usage,
    FinishReason? FinishReason,
    ProviderFailureException? Failure);

public static class ModelRunCollection
{
    /// <summary>Reads <see cref="ModelRun.Events"/> to the end; throws like the stream when nothing was produced.</summary>
    public static async Task<ModelResponse> CollectAsync(this ModelRun run, CancellationToken cancellationToken = default)
    {
        var text = new StringBuilder();
        StringBuilder? thinking = null;
        List<ToolUse>? toolUses = null;
        Usage? usage = null;
        FinishReason? finishReason = null;
        ProviderFailureException? failure = null;
        await foreach (var modelEvent in run.Events.WithCancellation(cancellationToken))
        {
            switch (modelEvent)
            {
                case TextDelta delta:
                    text.Append(delta.Text);
                    break;
                case ThinkingDelta delta:
                    (thinking ??= new StringBuilder()).Append(delta.Text);
                    break;
                case ToolUse toolUse:
                    (toolUses ??= []).Add(toolUse);
                    break;
                case Usage reported:
                    usage = reported;
                    break;
                case Completed completed:
                    finishReason = completed.FinishReason;
                    break;
                case StreamFailed failed:
                    failure = failed.Failure;
                    break;
            }
        }
        return new ModelResponse(text.ToString(), thinking?.ToString() ?? "", toolUses ?? [], usage ?? run.Usage ?? new Usage(0, 0, UsageSource.Counted), finishReason, failure);
    }
}
