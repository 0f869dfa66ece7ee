using Majestix.GoogleCloud.Firestore;
using Majestix.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Majestix.GoogleCloud.Tests;

/// <summary>Each test class instance (one per test) gets a fresh project on the shared emulator.</summary>
public abstract class FirestoreTestBase : IDisposable
{
    private readonly List<ServiceProvider> _providers = [];

    protected FirestoreTestBase(FirestoreEmulatorFixture emulator)
    {
        Emulator = emulator;
        ProjectId = TestIsolation.NewProjectId("fs");
        Firestore = CreateClient();
    }

    protected FirestoreEmulatorFixture Emulator { get; }

    protected string ProjectId { get; }

    protected FirestoreClient Firestore { get; }

    /// <summary>Another client for the same project, with extra handlers in its pipeline.</summary>
    protected FirestoreClient CreateClient(params DelegatingHandler[] handlers)
    {
        var http = new ServiceCollection().AddFirestore(options =>
        {
            options.ProjectId = ProjectId;
            options.EmulatorHost = Emulator.EmulatorHost;
        });
        foreach (var handler in handlers)
        {
            http.AddHttpMessageHandler(() => handler);
        }

        var provider = http.Services.BuildServiceProvider(validateScopes: true);
        _providers.Add(provider);
        return provider.GetRequiredService<FirestoreClient>();
    }

    protected static Dictionary<string, FirestoreValue> Fields(params (string Name, FirestoreValue Value)[] fields) =>
        fields.ToDictionary(f => f.Name, f => f.Value);

    public void Dispose()
    {
        _providers.ForEach(provider => provider.Dispose());
        GC.SuppressFinalize(this);
    }
}
