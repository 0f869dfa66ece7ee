using Majestix.AppHost;
using Microsoft.Extensions.Configuration;

var builder = DistributedApplication.CreateBuilder(args);
var stack = builder.Configuration.GetSection(DevStackOptions.SectionName).Get<DevStackOptions>() ?? new DevStackOptions();
var repoRoot = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, "..", ".."));
var stateDirectory = Path.GetFullPath(Path.Combine(repoRoot, stack.StateDirectory));
string Local(int port) => $"http://127.0.0.1:{LocalResources.Text(port)}";

// Stand-ins that are the real thing: Redis from the OS, Google's own emulators.
var redis = builder.AddLocalRedis(stack.Redis, repoRoot);
var firestore = builder.AddFirestoreEmulator(stack.Firestore, stack.ProjectId, repoRoot);
var pubsub = builder.AddPubSubEmulator(stack.PubSub, repoRoot);

// Every model provider points here locally.
var mockUpstream = builder.AddProject<Projects.Majestix_MockUpstream>("mock-upstream", launchProfileName: null)
    .WithHttpEndpoint(port: stack.MockUpstream, targetPort: stack.MockUpstream, isProxied: false)
    .WithHttpHealthCheck("/health");

// Stripe: the stand-in's dev account has the five fixed prices and delivers every event to the API's webhook.
var stripeStandIn = builder.AddProject<Projects.Majestix_StripeStandIn>("stripe-stand-in", launchProfileName: null)
    .WithHttpEndpoint(port: stack.StripeStandIn, targetPort: stack.StripeStandIn, isProxied: false)
    .WithHttpHealthCheck("/health")
    .WithEnvironment("StandIn__PublicUrl", Local(stack.StripeStandIn))
    .WithEnvironment("StandIn__DevWebhookUrl", $"{Local(stack.InferenceApi)}/billing/webhook");

// Signs local Firebase, App Check and OIDC tokens, seeds users, keys and topics, writes the env file.
var devIdentity = builder.AddProject<Projects.Majestix_DevIdentity>("dev-identity", launchProfileName: null)
    .WithHttpEndpoint(port: stack.DevIdentity, targetPort: stack.DevIdentity, isProxied: false)
    .WithHttpHealthCheck("/health")
    .WithGoogleEmulators(stack, firestore, pubsub)
    .WithEnvironment("DevIdentity__StateDirectory", stateDirectory)
    .WithEnvironment("DevIdentity__FirebaseProjectId", stack.ProjectId)
    .WithEnvironment("DevIdentity__Endpoints__API_URL", Local(stack.InferenceApi))
    .WithEnvironment("DevIdentity__Endpoints__EXECUTOR_URL", Local(stack.AgentExecutor))
    .WithEnvironment("DevIdentity__Endpoints__FUNCTIONS_URL", Local(stack.WebFunctions))
    .WithEnvironment("DevIdentity__Endpoints__MOCK_UPSTREAM_URL", Local(stack.MockUpstream))
    .WithEnvironment("DevIdentity__Endpoints__DEV_IDENTITY_URL", Local(stack.DevIdentity))
    .WithEnvironment("DevIdentity__Endpoints__STRIPE_URL", Local(stack.StripeStandIn))
    .WithEnvironment("DevIdentity__Endpoints__REDIS_URL", $"redis://127.0.0.1:{LocalResources.Text(stack.Redis)}")
    .WithEnvironment("DevIdentity__Endpoints__FIRESTORE_EMULATOR_HOST", $"127.0.0.1:{LocalResources.Text(stack.Firestore)}")
    .WithEnvironment("DevIdentity__Endpoints__PUBSUB_EMULATOR_HOST", $"127.0.0.1:{LocalResources.Text(stack.PubSub)}")
    .WithEnvironment("DevIdentity__Endpoints__GOOGLE_CLOUD_PROJECT", stack.ProjectId)
    .WaitFor(firestore)
    .WaitFor(pubsub);

builder.AddProject<Projects.Majestix_InferenceApi>("inference-api", launchProfileName: null)
    .WithHttpEndpoint(port: stack.InferenceApi, targetPort: stack.InferenceApi, isProxied: false)
    .WithHttpHealthCheck("/health")
    .WithReference(redis)
    .WithGoogleEmulators(stack, firestore, pubsub)
    .WithEnvironment("REDIS_FAILURE_POLICY", "reject")
    .WithEnvironment("FERNET_KEYS", "bWFqZXN0aXgtZGV2LW9ubHktZmVybmV0LWtleSEhISE=") // base64 of "majestix-dev-only-fernet-key!!!!": dev only, public
                                                                                    // The local web console (Vite's default port), after the two Hosting origins of appsettings.json (indexes 0 and 1).
    .WithEnvironment("Cors__AllowedOrigins__2", "http://localhost:5173")
    .WithEnvironment("Cors__AllowedOrigins__3", "http://127.0.0.1:5173")
    .WithEnvironment("WEB_APP_URL", "http://localhost:5173") // Checkout and the portal send the user back to the local console
    .WithDevIdentityVerification(stack, Local(stack.DevIdentity), Local(stack.InferenceApi))
    .WithProvidersAt(Local(stack.MockUpstream))
    .WithStripeStandIn(Local(stack.StripeStandIn))
    .WaitFor(redis)
    .WaitFor(stripeStandIn)
    .WaitFor(mockUpstream)
    .WaitFor(devIdentity);

builder.AddProject<Projects.Majestix_AgentExecutor>("agent-executor", launchProfileName: null)
    .WithHttpEndpoint(port: stack.AgentExecutor, targetPort: stack.AgentExecutor, isProxied: false)
    .WithHttpHealthCheck("/health")
    .WithGoogleEmulators(stack, firestore, pubsub)
    .WithEnvironment("INFERENCE_API_URL", Local(stack.InferenceApi))
    .WaitFor(devIdentity);

builder.AddProject<Projects.Majestix_WebFunctions>("web-functions", launchProfileName: null)
    .WithHttpEndpoint(port: stack.WebFunctions, targetPort: stack.WebFunctions, isProxied: false)
    .WithHttpHealthCheck("/health")
    .WithGoogleEmulators(stack, firestore, pubsub)
    .WithEnvironment("EXECUTOR_URL", Local(stack.AgentExecutor))
    .WaitFor(devIdentity);

builder.Build().Run();
