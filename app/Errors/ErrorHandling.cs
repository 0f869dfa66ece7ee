using System.Text.Json;
using Majestix.InferenceApi.Redis;
using Microsoft.AspNetCore.Diagnostics;

namespace Majestix.InferenceApi.Errors;

internal static class ErrorHandling
{
    /// <summary>
    /// Unhandled failures keep the <c>{"detail"}</c> shape and say nothing internal. A Redis outage under
    /// the <c>reject</c> policy is a 503 the client may retry.
    /// </summary>
    public static WebApplication UseApiErrorHandling(this WebApplication app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            StatusCodeSelector = exception => exception is RedisUnavailableException ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status500InternalServerError,
            ExceptionHandler = WriteErrorAsync,
            // A malformed or cut-off request (a client that hung up mid-body) is answered 4xx: the client's
            // error, not one of ours to log as ERROR or count as a failed request.
            SuppressDiagnosticsCallback = context => context.Exception is BadHttpRequestException,
        });
        app.UseStatusCodePages(context => context.HttpContext.Response.HasStarted || context.HttpContext.Response.ContentLength > 0
            ? Task.CompletedTask
            : WriteDetail(context.HttpContext, DefaultDetail(context.HttpContext.Response.StatusCode)));
        return app;
    }

    public static Task WriteDetail(HttpContext context, string detail) =>
        JsonResponse.WriteAsync(context, new ErrorDetail(detail), AppJson.Default.ErrorDetail);

    private static Task WriteErrorAsync(HttpContext context)
    {
        var exception = context.Features.Get<IExceptionHandlerFeature>()?.Error;
        if (exception is RedisUnavailableException)
        {
            context.Response.Headers.RetryAfter = "1";
            return WriteDetail(context, "Service temporarily unavailable: the rate-limit and credit store cannot be reached. Retry shortly.");
        }
        if (exception is BadHttpRequestException badRequest)
        {
            context.Response.StatusCode = badRequest.StatusCode;
            // A client that hung up is not there to read the answer, and writing it would only fail.
            return context.RequestAborted.IsCancellationRequested
                ? Task.CompletedTask
                : WriteDetail(context, badRequest.StatusCode == StatusCodes.Status413PayloadTooLarge ? "Request body too large." : "Malformed request.");
        }
        return WriteDetail(context, $"Internal server error (request id {context.TraceIdentifier}).");
    }

    private static string DefaultDetail(int status) => status switch
    {
        StatusCodes.Status400BadRequest => "Bad request.",
        StatusCodes.Status401Unauthorized => "Not authenticated.",
        StatusCodes.Status403Forbidden => "Forbidden.",
        StatusCodes.Status404NotFound => "Not found.",
        StatusCodes.Status405MethodNotAllowed => "Method not allowed.",
        StatusCodes.Status415UnsupportedMediaType => "Content-Type must be application/json.",
        _ => "Request failed.",
    };
}
