using System.Globalization;

namespace Majestix.AppHost;

/// <summary>
/// redis-server from the OS as an executable resource. Implementing
/// <see cref="IResourceWithConnectionString"/> makes <c>WithReference(redis)</c> hand services
/// <c>ConnectionStrings__redis</c>, as Aspire's container-based Redis would.
/// </summary>
internal sealed class RedisServerResource(string name, string workingDirectory)
    : ExecutableResource(name, "redis-server", workingDirectory), IResourceWithConnectionString
{
    public const string EndpointName = "tcp";

    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"{this.GetEndpoint(EndpointName).Property(EndpointProperty.HostAndPort)},abortConnect=false");
}

internal static class LocalResources
{
    private const string GoogleCloudSdkPlatform = "/usr/lib/google-cloud-sdk/platform";

    public static IResourceBuilder<RedisServerResource> AddLocalRedis(this IDistributedApplicationBuilder builder, int port, string workingDirectory) =>
        builder.AddResource(new RedisServerResource("redis", workingDirectory))
            .WithEndpoint(RedisServerResource.EndpointName, endpoint =>
            {
                endpoint.Port = port;
                endpoint.TargetPort = port;
                endpoint.UriScheme = "tcp";
                endpoint.IsProxied = false;
            })
            // Nothing persisted: the dev stack starts from its seed every time.
            .WithArgs("--port", Text(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no");

    // The emulator's launcher script forks java instead of exec'ing it, so stopping the script would
    // orphan the JVM. Run the JVM directly so stopping the resource stops the emulator.
    public static IResourceBuilder<ExecutableResource> AddFirestoreEmulator(this IDistributedApplicationBuilder builder, int port, string projectId, string workingDirectory) =>
        builder.AddExecutable("firestore", "java", workingDirectory,
                "-Duser.language=en",
                "-cp", $"{GoogleCloudSdkPlatform}/cloud-firestore-emulator/cloud-firestore-emulator.jar",
                "com.google.cloud.datastore.emulator.firestore.CloudFirestore",
                "start", "--host=127.0.0.1", $"--port={Text(port)}", $"--project_id={projectId}")
            .WithHttpEndpoint(port: port, targetPort: port, isProxied: false)
            .WithHttpHealthCheck("/");

    // This launcher exec's java, so its pid is the JVM's.
    public static IResourceBuilder<ExecutableResource> AddPubSubEmulator(this IDistributedApplicationBuilder builder, int port, string workingDirectory) =>
        builder.AddExecutable("pubsub", $"{GoogleCloudSdkPlatform}/pubsub-emulator/bin/cloud-pubsub-emulator", workingDirectory,
                "--host=127.0.0.1", $"--port={Text(port)}")
            .WithHttpEndpoint(port: port, targetPort: port, isProxied: false)
            .WithHttpHealthCheck("/");

    public static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
