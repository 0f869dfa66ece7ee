using System.Buffers;
using System.Text.Json;
using Majestix.MockUpstream.Generation;

namespace Majestix.MockUpstream.Serving;

internal sealed class InvalidRequestException(string message) : Exception(message);

internal enum StreamEnd
{
    Completed,
    Cut,
}

// One provider's wire format: request parsing, JSON and SSE responses, error bodies.
internal abstract class WireFormat
{
    public abstract string Provider { get; }

    public abstract string IdPrefix { get; }

    public abstract string ToolIdPrefix { get; }

    public abstract string RequestIdHeader { get; }

    /// <summary>Throws <see cref="InvalidRequestException"/> for a request the real API would reject.</summary>
    public abstract ChatRequest Parse(JsonElement root);

    public abstract string FinishReason(FinishKind finish);

    public abstract void WriteResponse(Utf8JsonWriter json, ChatRequest request, CompletionPlan plan);

    /// <summary>Writes the stream up to its end or its cut point; the caller finishes a cut per cut_mode.</summary>
    public abstract Task<StreamEnd> WriteStreamAsync(SseWriter sse, StreamPacer pacer, ChatRequest request, CompletionPlan plan);

    public abstract void WriteStreamError(SseWriter sse, string message);

    public abstract void WriteError(Utf8JsonWriter json, int status, string message, string requestId);

    protected static string? OptionalString(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    protected static bool OptionalBool(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.True;

    protected static int? OptionalInt(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var n) && n >= 0
            ? n
            : throw new InvalidRequestException($"{name}: expected a non-negative integer");
    }

    protected static void WriteRawJson(Utf8JsonWriter json, string rawJson) => json.WriteRawValue(rawJson, skipInputValidation: true);
}

internal static class ResponseBuffer
{
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    // Used only inside one synchronous write-and-copy, so a per-thread buffer is safe and saves an allocation per response.
    public static ArrayBufferWriter<byte> Rent()
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(4096);
        buffer.ResetWrittenCount();
        return buffer;
    }
}
