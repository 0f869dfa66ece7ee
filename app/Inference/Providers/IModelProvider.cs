namespace Majestix.InferenceApi.Inference.Providers;

/// <summary>
/// One provider family on the wire (OpenAI-compatible, Anthropic). Streams normalized events, records
/// every output fragment it receives in <paramref name="received"/> (tool arguments arrive before their
/// <see cref="ToolUse"/> event, and a cut stream must still be counted), and throws only
/// <see cref="ProviderFailureException"/> or, when the caller cancels, <see cref="OperationCanceledException"/>.
/// </summary>
public interface IModelProvider
{
    IAsyncEnumerable<ModelEvent> StreamAsync(ModelRequest request, ReceivedOutput received, CancellationToken cancellationToken);
}
