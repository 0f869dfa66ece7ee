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
}
