namespace Majestix.AppHost;

/// <summary>
/// Fixed local ports so `make dev` prints stable addresses; the topology test overrides every one of
/// them with free ports so it can run beside a running dev stack.
/// </summary>
internal sealed class DevStackOptions
{
    public const string SectionName = "DevStack";

    public int InferenceApi { get; set; } = 8080;
    public int AgentExecutor { get; set; } = 8081;
    public int WebFunctions { get; set; } = 8082;
    public int MockUpstream { get; set; } = 8090;
    public int DevIdentity { get; set; } = 8089;
    public int StripeStandIn { get; set; } = 4242;
    public int Redis { get; set; } = 6390;
    public int Firestore { get; set; } = 8686;
    public int PubSub { get; set; } = 8685;

    /// <summary>What the dev identity's App Check tokens name (its default).</summary>
    public const string FirebaseProjectNumber = "100000000001";

    /// <summary>The service account the local executor presents to the API's internal endpoints.</summary>
    public const string ExecutorServiceAccount = "agent-executor@majestix-dev.iam.gserviceaccount.com";

    /// <summary>The GCP project id every local component pretends to live in.</summary>
    public string ProjectId { get; set; } = "majestix-dev";

    /// <summary>Signing keys, seeded credentials and the env file; relative paths are from the repo root.</summary>
    public string StateDirectory { get; set; } = ".majestix/dev";
}
