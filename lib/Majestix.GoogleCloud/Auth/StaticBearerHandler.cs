using System.Net.Http.Headers;

namespace Majestix.GoogleCloud;

/// <summary>Sends a fixed bearer token; used for emulators, which accept well-known tokens.</summary>
internal sealed class StaticBearerHandler(string token) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return base.SendAsync(request, cancellationToken);
    }
}
