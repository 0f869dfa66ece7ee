using Majestix.InferenceApi.Errors;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Options;

namespace Majestix.InferenceApi.RequestLimits;

/// <summary>Endpoint metadata: the endpoint takes a model call's body (<see cref="RequestLimitOptions.ModelCallBytes"/>).</summary>
internal sealed class ModelCallBody
{
    public static readonly ModelCallBody Instance = new();
}

/// <summary>
/// Answers 413 <c>{"detail"}</c> for a body over its endpoint's limit before the endpoint, the caller gate or the
/// JSON parser see it: a declared Content-Length over the limit without reading a byte; a body without one
/// (chunked) is read up to the limit first and handed on from memory, so nothing downstream can read more.
/// </summary>
internal sealed class RequestBodyLimit(RequestDelegate next, IOptions<RequestLimitOptions> options)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (context.GetEndpoint() is not { } endpoint)
        {
            await next(context);
            return;
        }
        long limit = endpoint.Metadata.GetMetadata<IRequestSizeLimitMetadata>()?.MaxRequestBodySize
            ?? (endpoint.Metadata.GetMetadata<ModelCallBody>() is null ? options.Value.DefaultBytes : options.Value.ModelCallBytes);
        var request = context.Request;
        if (request.ContentLength is { } declared)
        {
            if (declared > limit)
            {
                await TooLargeAsync(context, limit);
                return;
            }
        }
        else if (context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? true)
        {
            var body = await ReadUpToAsync(request.Body, limit, context.RequestAborted);
            if (body is null)
            {
                await TooLargeAsync(context, limit);
                return;
            }
            request.Body = body;
            request.ContentLength = body.Length;
        }
        // The server's own limit (Kestrel's 30 MB) becomes the endpoint's, for whatever reads the body next.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } server)
        {
            server.MaxRequestBodySize = limit;
        }
        await next(context);
    }

    /// <summary>The whole body in memory, or null when it is longer than <paramref name="limit"/> (reading stops one byte past it).</summary>
    private static async Task<MemoryStream?> ReadUpToAsync(Stream body, long limit, CancellationToken cancellationToken)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        while (true)
        {
            var read = await body.ReadAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, limit + 1 - buffer.Length)), cancellationToken);
            if (read == 0)
            {
                buffer.Position = 0;
                return buffer;
            }
            buffer.Write(chunk, 0, read);
            if (buffer.Length > limit)
            {
                return null;
            }
        }
    }

    private static Task TooLargeAsync(HttpContext context, long limit)
    {
        context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
        return ErrorHandling.WriteDetail(context, $"Request body too large. This endpoint accepts at most {limit} bytes.");
    }
}
