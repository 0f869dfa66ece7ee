using Majestix.Testing;

namespace Majestix.GoogleCloud.Tests;

// One emulator per collection; collections run in parallel, tests inside one run in sequence.

[CollectionDefinition(Name)]
public sealed class FirestoreCollection : ICollectionFixture<FirestoreEmulatorFixture>
{
    public const string Name = "Firestore emulator";
}

[CollectionDefinition(Name)]
public sealed class PubSubCollection : ICollectionFixture<PubSubEmulatorFixture>
{
    public const string Name = "Pub/Sub emulator";
}

[CollectionDefinition(Name)]
public sealed class RedisCollection : ICollectionFixture<RedisServerFixture>
{
    public const string Name = "Redis server";
}
