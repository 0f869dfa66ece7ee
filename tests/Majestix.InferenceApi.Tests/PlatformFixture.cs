using Majestix.InferenceApi.Tests.Inference;
using Majestix.Testing;

namespace Majestix.InferenceApi.Tests;

/// <summary>Real Redis, the real Firestore and Pub/Sub emulators and a key-set server, shared by a collection.</summary>
public sealed class PlatformFixture : IAsyncLifetime
{
    public RedisServerFixture Redis { get; } = new();

    public FirestoreEmulatorFixture Firestore { get; } = new();

    public PubSubEmulatorFixture PubSub { get; } = new();

    public TestIdentityIssuer Issuer { get; } = new();

    /// <summary>Every model provider of the app under test points here.</summary>
    public MockUpstreamFixture MockUpstream { get; } = new();

    /// <summary>The local Stripe every app under test bills through (each billing test on its own account).</summary>
    public Billing.StripeStandInFixture Stripe { get; } = new();

    public Task InitializeAsync() =>
        Task.WhenAll(Redis.InitializeAsync(), Firestore.InitializeAsync(), PubSub.InitializeAsync(), Issuer.InitializeAsync(), MockUpstream.InitializeAsync(),
            Stripe.InitializeAsync());

    public Task DisposeAsync() =>
        Task.WhenAll(Redis.DisposeAsync(), Firestore.DisposeAsync(), PubSub.DisposeAsync(), Issuer.DisposeAsync(), MockUpstream.DisposeAsync(),
            Stripe.DisposeAsync());
}

[CollectionDefinition(Name)]
public sealed class PlatformCollection : ICollectionFixture<PlatformFixture>
{
    public const string Name = "platform";
}
