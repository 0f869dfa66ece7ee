namespace Majestix.AppHost;

internal static class GoogleEmulatorExtensions
{
    /// <summary>The variables Google's own client libraries read to talk to the emulators without auth.</summary>
    public static IResourceBuilder<T> WithGoogleEmulators<T>(this IResourceBuilder<T> resource, DevStackOptions stack,
        IResourceBuilder<ExecutableResource> firestore, IResourceBuilder<ExecutableResource> pubsub)
        where T : IResourceWithEnvironment, IResourceWithWaitSupport =>
        resource
            .WithEnvironment("GOOGLE_CLOUD_PROJECT", stack.ProjectId)
            .WithEnvironment("FIRESTORE_EMULATOR_HOST", $"127.0.0.1:{LocalResources.Text(stack.Firestore)}")
            .WithEnvironment("PUBSUB_EMULATOR_HOST", $"127.0.0.1:{LocalResources.Text(stack.PubSub)}")
            .WaitFor(firestore)
            .WaitFor(pubsub);

    /// <summary>
    /// Points token verification at the dev identity's key sets. Only the URLs and ids differ from
    /// production: the verification code is the same.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithDevIdentityVerification(this IResourceBuilder<ProjectResource> resource,
        DevStackOptions stack, string devIdentityUrl, string ownUrl) =>
        resource
            .WithEnvironment("Identity__FirebaseProjectId", stack.ProjectId)
            .WithEnvironment("Identity__FirebaseProjectNumber", DevStackOptions.FirebaseProjectNumber)
            .WithEnvironment("Identity__FirebaseKeysUrl", $"{devIdentityUrl}/keys/firebase")
            .WithEnvironment("Identity__AppCheckKeysUrl", $"{devIdentityUrl}/keys/appcheck")
            .WithEnvironment("Identity__GoogleKeysUrl", $"{devIdentityUrl}/keys/google")
            .WithEnvironment("OIDC_AUDIENCE", ownUrl)
            .WithEnvironment("OIDC_ALLOWED_SERVICE_ACCOUNTS", DevStackOptions.ExecutorServiceAccount)
            // Not a secret: it only keys the hashing of local client addresses in dev audit events.
            .WithEnvironment("AUDIT_IP_HASH_SALT", "majestix-dev-ip-salt");

    /// <summary>Every model provider at the mock upstream; the keys are not secrets, the mock only fingerprints them.</summary>
    public static IResourceBuilder<ProjectResource> WithProvidersAt(this IResourceBuilder<ProjectResource> resource, string mockUpstreamUrl) =>
        resource
            .WithEnvironment("Providers__OpenAI__BaseUrl", $"{mockUpstreamUrl}/v1")
            .WithEnvironment("Providers__OpenAI__ApiKey", "sk-dev-openai")
            .WithEnvironment("Providers__OpenRouter__BaseUrl", $"{mockUpstreamUrl}/api/v1")
            .WithEnvironment("Providers__OpenRouter__ApiKey", "sk-dev-openrouter")
            .WithEnvironment("Providers__Anthropic__BaseUrl", mockUpstreamUrl)
            .WithEnvironment("Providers__Anthropic__ApiKey", "sk-dev-anthropic")
            .WithEnvironment("Providers__Vertex__BaseUrl", mockUpstreamUrl)
            .WithEnvironment("Providers__Vertex__StaticAccessToken", "ya29.dev-token");

    /// <summary>
    /// Stripe at the local stand-in's dev account: its key, its dev webhook secret and its five fixed price
    /// ids (tools/Majestix.StripeStandIn seeds them at start-up). Test-mode values, not secrets.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithStripeStandIn(this IResourceBuilder<ProjectResource> resource, string standInUrl) =>
        resource
            .WithEnvironment("STRIPE_API_BASE", standInUrl)
            .WithEnvironment("STRIPE_SECRET_KEY", "sk_test_majestix_dev")
            .WithEnvironment("STRIPE_WEBHOOK_SECRET", "whsec_majestix_dev_only")
            .WithEnvironment("STRIPE_GURU_PRICE_ID", "price_devGuru")
            .WithEnvironment("STRIPE_PRO_PRICE_ID", "price_devPro")
            .WithEnvironment("STRIPE_TOPUP_5_PRICE_ID", "price_devTopup5")
            .WithEnvironment("STRIPE_TOPUP_25_PRICE_ID", "price_devTopup25")
            .WithEnvironment("STRIPE_TOPUP_100_PRICE_ID", "price_devTopup100");
}
