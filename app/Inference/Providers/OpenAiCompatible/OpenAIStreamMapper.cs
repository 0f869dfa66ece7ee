using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Majestix.InferenceApi.Inference.Providers.OpenAiCompatible;

/// <summary>
/// Turns Chat Completions chunks (the UTF-8 data of each SSE event) into <see cref="ModelEvent"/>s, reading
/// only the fields it needs with <see cref="Utf8JsonReader"/>. Tool calls are assembled from their argument
/// fragments and emitted whole when the finish reason arrives.
/// </summary>
internal sealed class OpenAIStreamMapper(ReceivedOutput received)
{
    private readonly SortedDictionary<int, PendingToolCall> _toolCalls = [];
    private readonly List<ToolCallDelta> _chunkToolCalls = [];
    private readonly List<ModelEvent> _events = [];
    private bool _thinking;
    private FinishReason? _finishReason;
    private Usage? _usage;

    /// <summary>The events of the chunks read since the last <see cref="ClearEvents"/>.</summary>
    public IReadOnlyList<ModelEvent> Events => _events;

    public void ClearEvents() => _events.Clear();

    /// <summary>Reads one SSE event; true when it is the <c>[DONE]</c> sentinel that ends the stream.</summary>
    /// <remarks>
    /// Chat Completions names no event types; whatever the name, the data is read as a chunk. An in-stream
    /// <c>{"error":…}</c> carries no choices and is skipped: the stream then ends without a finish reason, as a cut.
    /// </remarks>
    public bool Read(string eventType, ReadOnlySpan<byte> data)
    {
        if (data.SequenceEqual("[DONE]"u8))
        {
            return true;
        }
        var chunk = ReadChunk(data);
        Apply(chunk);
        return false;
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

    // Applied in a fixed order whatever the field order on the wire: reasoning, text, tool calls, finish, usage.
    private void Apply(in Chunk chunk)
    {
        if (chunk.Reasoning is { Length: > 0 } reasoning)
        {
            _thinking = true;
            received.AddThinking(reasoning);
            _events.Add(new ThinkingDelta(reasoning));
        }
        if (chunk.Content is { Length: > 0 } text)
        {
            EndThinking();
            received.AddText(text);
            _events.Add(new TextDelta(text));
        }
        foreach (var call in _chunkToolCalls)
        {
            EndThinking();
            if (!_toolCalls.TryGetValue(call.Index, out var pending))
            {
                _toolCalls[call.Index] = pending = new PendingToolCall();
            }
            pending.Id ??= call.Id;
            pending.Name ??= call.Name;
            if (call.Arguments is { Length: > 0 } arguments)
            {
                pending.Arguments.Append(arguments);
                received.AddToolArguments(call.Index.ToString(CultureInfo.InvariantCulture), arguments);
            }
        }
        if (chunk.FinishReason is { } finish)
        {
            EndThinking();
            foreach (var call in _toolCalls.Values)
            {
                _events.Add(new ToolUse(call.Id ?? "", call.Name ?? "", call.Arguments.Length > 0 ? call.Arguments.ToString() : "{}"));
            }
            _toolCalls.Clear();
            _finishReason = finish;
        }
        if (chunk.Usage is not null)
        {
            _usage = chunk.Usage;
        }
    }

    private void EndThinking()
    {
        if (_thinking)
        {
            _thinking = false;
            _events.Add(new ThinkingDone());
        }
    }

    // Only the first choice counts (the gateway never asks for more); unknown fields are skipped.
    private Chunk ReadChunk(ReadOnlySpan<byte> data)
    {
        _chunkToolCalls.Clear();
        var chunk = new Chunk();
        var reader = new Utf8JsonReader(data);
        if (data.IsEmpty || !reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return chunk;
        }
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("choices"u8))
            {
                reader.Read();
                ReadChoices(ref reader, ref chunk);
            }
            else if (reader.ValueTextEquals("usage"u8))
            {
                reader.Read();
                chunk.Usage = ReadUsage(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        return chunk;
    }

    private void ReadChoices(ref Utf8JsonReader reader, ref Chunk chunk)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return;
        }
        var first = true;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (first && reader.TokenType == JsonTokenType.StartObject)
            {
                ReadChoice(ref reader, ref chunk);
            }
            else
            {
                reader.Skip();
            }
            first = false;
        }
    }

    private void ReadChoice(ref Utf8JsonReader reader, ref Chunk chunk)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("delta"u8))
            {
                reader.Read();
                ReadDelta(ref reader, ref chunk);
            }
            else if (reader.ValueTextEquals("finish_reason"u8))
            {
                reader.Read();
                chunk.FinishReason = reader.TokenType == JsonTokenType.String ? ToFinishReason(ref reader) : null;
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    private void ReadDelta(ref Utf8JsonReader reader, ref Chunk chunk)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("content"u8))
            {
                reader.Read();
                chunk.Content = StringOrSkip(ref reader);
            }
            // `reasoning_content` is not part of OpenAI's schema; OpenRouter, DeepSeek and vLLM send it.
            else if (reader.ValueTextEquals("reasoning_content"u8))
            {
                reader.Read();
                chunk.Reasoning = StringOrSkip(ref reader);
            }
            else if (reader.ValueTextEquals("tool_calls"u8))
            {
                reader.Read();
                ReadToolCalls(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    private void ReadToolCalls(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return;
        }
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                continue;
            }
            var call = new ToolCallDelta();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("index"u8))
                {
                    reader.Read();
                    call.Index = Int32OrSkip(ref reader);
                }
                else if (reader.ValueTextEquals("id"u8))
                {
                    reader.Read();
                    call.Id = StringOrSkip(ref reader);
                }
                else if (reader.ValueTextEquals("function"u8))
                {
                    reader.Read();
                    ReadFunction(ref reader, ref call);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
            _chunkToolCalls.Add(call);
        }
    }

    private static void ReadFunction(ref Utf8JsonReader reader, ref ToolCallDelta call)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("name"u8))
            {
                reader.Read();
                call.Name = StringOrSkip(ref reader);
            }
            else if (reader.ValueTextEquals("arguments"u8))
            {
                reader.Read();
                call.Arguments = StringOrSkip(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    private static Usage? ReadUsage(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return null;
        }
        int promptTokens = 0, completionTokens = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("prompt_tokens"u8))
            {
                reader.Read();
                promptTokens = Int32OrSkip(ref reader);
            }
            else if (reader.ValueTextEquals("completion_tokens"u8))
            {
                reader.Read();
                completionTokens = Int32OrSkip(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        return new Usage(promptTokens, completionTokens);
    }

    private static FinishReason ToFinishReason(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("stop"u8) ? FinishReason.Stop
        : reader.ValueTextEquals("length"u8) ? FinishReason.MaxTokens
        : reader.ValueTextEquals("tool_calls"u8) || reader.ValueTextEquals("function_call"u8) ? FinishReason.ToolUse
        : reader.ValueTextEquals("content_filter"u8) ? FinishReason.ContentFilter
        : FinishReason.Other;

    private static int Int32OrSkip(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Number)
        {
            return reader.GetInt32();
        }
        reader.Skip();
        return 0;
    }

    private static string? StringOrSkip(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return reader.GetString();
        }
        reader.Skip();
        return null;
    }

    private record struct Chunk(string? Content, string? Reasoning, FinishReason? FinishReason, Usage? Usage);

    private record struct ToolCallDelta(int Index, string? Id, string? Name, string? Arguments);

    private sealed class PendingToolCall
    {
        public string? Id { get; set; }

        public string? Name { get; set; }

        public StringBuilder Arguments { get; } = new();
    }
}
