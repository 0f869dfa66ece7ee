using System.Text.Json;

namespace Majestix.InferenceApi;

/// <summary>
/// Writes a whole JSON response with its Content-Length. A body streamed without one goes out chunked,
/// and its closing chunk waits until the request pipeline has unwound (request logging included), so
/// the client would wait for work that is not its answer.
/// </summary>
internal static class JsonResponse
{
    public static async Task WriteAsync(HttpContext context, int status, Action<Utf8JsonWriter> writeObject, CancellationToken cancellationToken)
    {
        // Returned once written: Kestrel has copied the bytes into its own pipe when the write completes.
        using var buffer = new PooledBufferWriter(1024);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writeObject(writer);
            writer.WriteEndObject();
        }
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = buffer.WrittenCount;
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, cancellationToken);
    }

    /// <summary>As <see cref="WriteAsync"/> for a value with source-generated metadata.</summary>
    public static Task WriteAsync<T>(HttpContext context, T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(value, typeInfo);
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = body.Length;
        return context.Response.Body.WriteAsync(body, context.RequestAborted).AsTask();
    }
}
