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

    // Only the first choice counts (the gateway never asks for more); unknown fields and values of an
    // unexpected type are skipped.
    private Chunk ReadChunk(ReadOnlySpan<byte> data)
    {
        _chunkToolCalls.Clear();
        var chunk = new Chunk();
        var reader = new Utf8JsonReader(data);
        if (data.IsEmpty || !reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return chunk;
        }
        while (NextProperty(ref reader))
        {
            if (reader.ValueTextEquals("choices"u8))
            {
                if (Enter(ref reader, JsonTokenType.StartArray))
                {
                    ReadChoices(ref reader, ref chunk);
                }
            }
            else if (reader.ValueTextEquals("usage"u8))
            {
                chunk.Usage = Enter(ref reader, JsonTokenType.StartObject) ? ReadUsage(ref reader) : null;
            }
            else
            {
                SkipValue(ref reader);
            }
        }
        return chunk;
    }

    private void ReadChoices(ref Utf8JsonReader reader, ref Chunk chunk)
    {
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
        while (NextProperty(ref reader))
        {
            if (reader.ValueTextEquals("delta"u8))
            {
                if (Enter(ref reader, JsonTokenType.StartObject))
                {
                    ReadDelta(ref reader, ref chunk);
                }
            }
            else if (reader.ValueTextEquals("finish_reason"u8))
            {
                reader.Read();
                chunk.FinishReason = reader.TokenType == JsonTokenType.String ? ToFinishReason(ref reader) : null;
            }
            else
            {
                SkipValue(ref reader);
            }
        }
    }

    private void ReadDelta(ref Utf8JsonReader reader, ref Chunk chunk)
    {
        while (NextProperty(ref reader))
        {
            if (reader.ValueTextEquals("content"u8))
            {
                chunk.Content = ReadString(ref reader);
            }
            // `reasoning_content` is not part of OpenAI's schema; OpenRouter, DeepSeek and vLLM send it.
            else if (reader.ValueTextEquals("reasoning_content"u8))
            {
                chunk.Reasoning = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("tool_calls"u8))
            {
                if (Enter(ref reader, JsonTokenType.StartArray))
                {
                    ReadToolCalls(ref reader);
                }
            }
            else
            {
                SkipValue(ref reader);
            }
        }
    }

    private void ReadToolCalls(ref Utf8JsonReader reader)
    {
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                continue;
            }
            var call = new ToolCallDelta();
            while (NextProperty(ref reader))
            {
                if (reader.ValueTextEquals("index"u8))
                {
                    call.Index = ReadInt32(ref reader);
                }
                else if (reader.ValueTextEquals("id"u8))
                {
                    call.Id = ReadString(ref reader);
                }
                else if (reader.ValueTextEquals("function"u8))
                {
                    if (Enter(ref reader, JsonTokenType.StartObject))
                    {
                        ReadFunction(ref reader, ref call);
                    }
                }
                else
                {
                    SkipValue(ref reader);
                }
            }
            _chunkToolCalls.Add(call);
        }
    }

    private static void ReadFunction(ref Utf8JsonReader reader, ref ToolCallDelta call)
    {
        while (NextProperty(ref reader))
        {
            if (reader.ValueTextEquals("name"u8))
            {
                call.Name = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("arguments"u8))
            {
                call.Arguments = ReadString(ref reader);
            }
            else
            {
                SkipValue(ref reader);
            }
        }
    }

    private static Usage ReadUsage(ref Utf8JsonReader reader)
    {
        int promptTokens = 0, completionTokens = 0;
        while (NextProperty(ref reader))
        {
            if (reader.ValueTextEquals("prompt_tokens"u8))
            {
                promptTokens = ReadInt32(ref reader);
            }
            else if (reader.ValueTextEquals("completion_tokens"u8))
            {
                completionTokens = ReadInt32(ref reader);
            }
            else
            {
                SkipValue(ref reader);
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

    // The helpers below start on a property name and consume its value.

    private static bool NextProperty(ref Utf8JsonReader reader) => reader.Read() && reader.TokenType == JsonTokenType.PropertyName;

    /// <summary>Moves onto the value; true when it opens the expected container, otherwise skips it.</summary>
    private static bool Enter(ref Utf8JsonReader reader, JsonTokenType start)
    {
        reader.Read();
        if (reader.TokenType == start)
        {
            return true;
        }
        reader.Skip();
        return false;
    }

    private static void SkipValue(ref Utf8JsonReader reader)
    {
        reader.Read();
        reader.Skip();
    }

    private static int ReadInt32(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.Number)
        {
            return reader.GetInt32();
        }
        reader.Skip();
        return 0;
    }

    private static string? ReadString(ref Utf8JsonReader reader)
    {
        reader.Read();
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
