using Google.Apis.Auth.OAuth2;

namespace Majestix.GoogleCloud;

/// <summary>
/// Access tokens from application default credentials (the metadata server on Cloud Run,
/// <c>GOOGLE_APPLICATION_CREDENTIALS</c> or gcloud user credentials locally), scoped to cloud-platform.
/// </summary>
public sealed class ApplicationDefaultTokenSource : IGoogleAccessTokenSource
{
    /// <summary>The scope that covers Firestore, Pub/Sub, KMS, Tasks and Scheduler.</summary>
    public const string CloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform";

    // Credential discovery probes files and the metadata server, so it runs once per process.
    private readonly Lazy<Task<ITokenAccess>> _credential = new(LoadCredentialAsync);

    /// <inheritdoc />
    public async Task<string> GetAccessTokenAsync(CancellationToken cancellationToken)
    {
        var credential = await _credential.Value.ConfigureAwait(false);
        // The credential keeps the token and refreshes it shortly before it expires, so this
        // call is a cache hit on the hot path.
        return await credential.GetAccessTokenForRequestAsync(authUri: null, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<ITokenAccess> LoadCredentialAsync()
    {
        var credential = await GoogleCredential.GetApplicationDefaultAsync().ConfigureAwait(false);
        return credential.CreateScoped(CloudPlatformScope);
    }
}
