using Anthropic.Models.Messages;

namespace Majestix.InferenceApi.Inference.Providers.Anthropic;

/// <summary>
/// Turns Anthropic stream events into <see cref="ModelEvent"/>s: thinking and text deltas pass through,
/// a tool_use block is emitted whole at its content_block_stop, usage and the stop reason at message_stop.
/// </summary>
internal sealed class AnthropicStreamMapper(ReceivedOutput received)
{
    private readonly Dictionary<long, OpenBlock> _blocks = [];
    private long? _inputTokens;
    private Usage? _usage;
    private FinishReason _finishReason = FinishReason.Other;
    private bool _stopped;

    public IEnumerable<ModelEvent> Map(RawMessageStreamEvent rawEvent)
    {
        if (rawEvent.TryPickStart(out var start))
        {
            _inputTokens = start.Message.Usage.InputTokens;
        }
        else if (rawEvent.TryPickContentBlockStart(out var blockStart))
        {
            var content = blockStart.ContentBlock;
            if (content.TryPickToolUse(out var toolUse))
            {
                _blocks[blockStart.Index] = new OpenBlock(BlockKind.ToolUse, toolUse.ID, toolUse.Name);
            }
            else if (content.TryPickThinking(out _) || content.TryPickRedactedThinking(out _))
            {
                _blocks[blockStart.Index] = new OpenBlock(BlockKind.Thinking, null, null);
            }
        }
        else if (rawEvent.TryPickContentBlockDelta(out var blockDelta))
        {
            var delta = blockDelta.Delta;
            if (delta.TryPickText(out var text) && text.Text.Length > 0)
            {
                received.AddText(text.Text);
                yield return new TextDelta(text.Text);
            }
            else if (delta.TryPickThinking(out var thinking) && thinking.Thinking.Length > 0)
            {
                received.AddThinking(thinking.Thinking);
                yield return new ThinkingDelta(thinking.Thinking);
            }
            else if (delta.TryPickInputJson(out var inputJson) && _blocks.TryGetValue(blockDelta.Index, out var block))
            {
                received.AddToolArguments(block.Id ?? blockDelta.Index.ToString(System.Globalization.CultureInfo.InvariantCulture), inputJson.PartialJson);
                block.Arguments.Append(inputJson.PartialJson);
            }
        }
        else if (rawEvent.TryPickContentBlockStop(out var blockStop) && _blocks.Remove(blockStop.Index, out var closed))
        {
            if (closed.Kind == BlockKind.Thinking)
            {
                yield return new ThinkingDone();
            }
            else
            {
                yield return new ToolUse(closed.Id ?? "", closed.Name ?? "", closed.Arguments.Length > 0 ? closed.Arguments.ToString() : "{}");
            }
        }
        else if (rawEvent.TryPickDelta(out var messageDelta))
        {
            _finishReason = messageDelta.Delta.StopReason?.Raw() switch
            {
                "end_turn" or "stop_sequence" => FinishReason.Stop,
                "max_tokens" or "model_context_window_exceeded" => FinishReason.MaxTokens,
                "tool_use" => FinishReason.ToolUse,
                "refusal" => FinishReason.ContentFilter,
                _ => FinishReason.Other,
            };
            // message_delta carries the cumulative, final output count (message_start's is a placeholder).
            _usage = new Usage(
                checked((int)(messageDelta.Usage.InputTokens ?? _inputTokens ?? 0)),
                checked((int)messageDelta.Usage.OutputTokens));
        }
        else if (rawEvent.TryPickStop(out _))
        {
            _stopped = true;
        }
    }

    /// <summary>The closing events; a stream that ended before message_stop was cut.</summary>
    public IEnumerable<ModelEvent> Finish(string provider)
    {
        if (!_stopped)
        {
            throw new ProviderFailureException(ProviderFailureKind.StreamCut, provider, null);
        }
        if (_usage is not null)
        {
            yield return _usage;
        }
        yield return new Completed(_finishReason);
    }

    private enum BlockKind
    {
        Thinking,
        ToolUse,
    }

    private sealed record OpenBlock(BlockKind Kind, string? Id, string? Name)
    {
        public System.Text.StringBuilder Arguments { get; } = new();
    }
}
