using Majestix.ServiceDefaults;
using Microsoft.Extensions.Options;

namespace Majestix.DevIdentity;

// An explicit entry point in a namespace: test projects reference this tool for its issuer classes
// next to a service whose top-level Program would otherwise collide with this one.
internal static class Program
{
    public static void Main(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddServiceDefaults("dev-identity");
        builder.Services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower;
            json.SerializerOptions.TypeInfoResolverChain.Insert(0, DevIdentityJson.Default);
        });

        builder.Services.AddOptions<DevIdentityOptions>().BindConfiguration(DevIdentityOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<DevIdentityOptions>, DevIdentityOptionsValidator>();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(services => SigningKeys.LoadOrCreate(services.GetRequiredService<IOptions<DevIdentityOptions>>().Value.StateDirectory));
        builder.Services.AddSingleton<DevTokenIssuer>();

        // Seeding writes to the emulators; the health check stays red until it is done so dependants wait.
        builder.Services.AddFirestore(firestore => firestore.ProjectId = builder.Configuration["GOOGLE_CLOUD_PROJECT"] ?? "majestix-dev");
        builder.Services.AddPubSub(pubsub => pubsub.ProjectId = builder.Configuration["GOOGLE_CLOUD_PROJECT"] ?? "majestix-dev");
        builder.Services.AddSingleton<DevSeeder>();
        builder.Services.AddHostedService(services => services.GetRequiredService<DevSeeder>());
        builder.Services.AddHealthChecks().AddCheck<DevSeeder>("seed", tags: ["live"]);

        var app = builder.Build();
        app.UseServiceDefaults();
        app.MapDefaultEndpoints();
        app.MapTokenEndpoints();

        app.Run();
    }
}
