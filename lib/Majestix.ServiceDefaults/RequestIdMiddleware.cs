using Microsoft.AspNetCore.Http;
using Serilog.Context;

namespace Majestix.ServiceDefaults;

/// <summary>
/// Gives every request one id: the caller's <c>X-Request-Id</c> when it is well formed, else a new one.
/// It is echoed in the response, set as <see cref="HttpContext.TraceIdentifier"/> and attached to every
/// log line written while the request runs.
/// </summary>
internal sealed class RequestIdMiddleware(RequestDelegate next)
{
    public const string HeaderName = "X-Request-Id";
    public const string LogProperty = "request_id";
    private const int MaxLength = 64;

    public Task InvokeAsync(HttpContext context)
    {
        var requestId = IsWellFormed(context.Request.Headers[HeaderName].ToString())
            ? context.Request.Headers[HeaderName].ToString()
            : Guid.CreateVersion7().ToString("N");

        context.TraceIdentifier = requestId;
        context.Response.Headers[HeaderName] = requestId;
        return InvokeWithLogContext(context, requestId);
    }

    private async Task InvokeWithLogContext(HttpContext context, string requestId)
    {
        using (LogContext.PushProperty(LogProperty, requestId))
        {
            await next(context);
        }
    }

    // Client-supplied ids end up in logs and analytics: accept only short, inert tokens.
    internal static bool IsWellFormed(string candidate)
    {
        if (candidate.Length is 0 or > MaxLength)
        {
            return false;
        }
        foreach (var c in candidate)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                return false;
            }
        }
        return true;
    }
}
