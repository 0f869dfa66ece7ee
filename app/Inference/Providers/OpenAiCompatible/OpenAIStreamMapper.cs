using System.Text;
using OpenAI.Chat;

namespace Majestix.InferenceApi.Inference.Providers.OpenAiCompatible;

/// <summary>
/// Turns Chat Completions chunks into <see cref="ModelEvent"/>s. Tool calls are assembled from their
/// argument fragments and emitted whole when the finish reason arrives.
/// </summary>
internal sealed class OpenAIStreamMapper(ReceivedOutput received)
{
    private readonly SortedDictionary<int, PendingToolCall> _toolCalls = [];
    private bool _thinking;
    private FinishReason? _finishReason;
    private Usage? _usage;

    public IEnumerable<ModelEvent> Map(StreamingChatCompletionUpdate update)
    {
        if (ReasoningDelta(update) is { Length: > 0 } reasoning)
        {
            _thinking = true;
            received.AddThinking(reasoning);
            yield return new ThinkingDelta(reasoning);
        }
        foreach (var part in update.ContentUpdate)
        {
            if (part.Kind == ChatMessageContentPartKind.Text && part.Text is { Length: > 0 } text)
            {
                foreach (var done in EndThinking())
                {
                    yield return done;
                }
                received.AddText(text);
                yield return new TextDelta(text);
            }
        }
        foreach (var call in update.ToolCallUpdates)
        {
            foreach (var done in EndThinking())
            {
                yield return done;
            }
            if (!_toolCalls.TryGetValue(call.Index, out var pending))
            {
                _toolCalls[call.Index] = pending = new PendingToolCall();
            }
            pending.Id ??= call.ToolCallId;
            pending.Name ??= call.FunctionName;
            if (call.FunctionArgumentsUpdate is { } fragment && !fragment.IsEmpty)
            {
                var arguments = fragment.ToString();
                pending.Arguments.Append(arguments);
                received.AddToolArguments(call.Index.ToString(System.Globalization.CultureInfo.InvariantCulture), arguments);
            }
        }
        if (update.FinishReason is { } finish)
        {
            foreach (var done in EndThinking())
            {
                yield return done;
            }
            foreach (var call in _toolCalls.Values)
            {
                yield return new ToolUse(call.Id ?? "", call.Name ?? "", call.Arguments.Length > 0 ? call.Arguments.ToString() : "{}");
            }
            _toolCalls.Clear();
            _finishReason = finish switch
            {
                ChatFinishReason.Stop => FinishReason.Stop,
                ChatFinishReason.Length => FinishReason.MaxTokens,
                ChatFinishReason.ToolCalls or ChatFinishReason.FunctionCall => FinishReason.ToolUse,
                ChatFinishReason.ContentFilter => FinishReason.ContentFilter,
                _ => FinishReason.Other,
            };
        }
        if (update.Usage is { } usage)
        {
            _usage = new Usage(usage.InputTokenCount, usage.OutputTokenCount);
        }
    }

    /// <summary>The closing events; a stream that ended without a finish reason was cut.</summary>
    public IEnumerable<ModelEvent> Finish(string provider)
    {
        if (_finishReason is not { } finishReason)
        {
            throw new ProviderFailureException(ProviderFailureKind.StreamCut, provider, null);
        }
        if (_usage is not null)
        {
            yield return _usage;
        }
        yield return new Completed(finishReason);
    }

    private IEnumerable<ModelEvent> EndThinking()
    {
        if (_thinking)
        {
            _thinking = false;
            yield return new ThinkingDone();
        }
    }

    // `reasoning_content` is not part of OpenAI's schema (OpenRouter, DeepSeek and vLLM send it); the SDK keeps
    // unknown fields in the update's JSON patch.
#pragma warning disable SCME0001
    private static string? ReasoningDelta(StreamingChatCompletionUpdate update) =>
        update.Patch.TryGetValue("$.choices[0].delta.reasoning_content"u8, out string? reasoning) ? reasoning : null;
#pragma warning restore SCME0001

    private sealed class PendingToolCall
    {
        public string? Id { get; set; }

        public string? Name { get; set; }

        public StringBuilder Arguments { get; } = new();
    }
}
