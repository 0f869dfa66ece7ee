using System.Net.Http.Headers;

namespace Majestix.GoogleCloud;

/// <summary>Adds <c>Authorization: Bearer &lt;access token&gt;</c> to every outgoing request.</summary>
public sealed class GoogleAuthHandler(IGoogleAccessTokenSource tokenSource) : DelegatingHandler
{
    /// <inheritdoc />
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var token = await tokenSource.GetAccessTokenAsync(cancellationToken).ConfigureAwait(false);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }
}
