namespace Majestix.GoogleCloud;

/// <summary>Supplies OAuth2 access tokens for calls to Google Cloud REST APIs.</summary>
public interface IGoogleAccessTokenSource
{
    /// <summary>Returns a valid access token, refreshing it when it is close to expiry.</summary>
    Task<string> GetAccessTokenAsync(CancellationToken cancellationToken);
}
