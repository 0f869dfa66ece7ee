using Majestix.InferenceApi.Identity;
using Majestix.InferenceApi.Sessions;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Majestix.InferenceApi.Tests.Sessions;

internal static class SessionTestExtensions
{
    /// <summary>The key <see cref="InferenceApiApplication"/> configures as FERNET_KEYS.</summary>
    public const string HarnessKey = "bWFqZXN0aXgtdGVzdC1vbmx5LWZlcm5ldC1rZXkhISE=";

    public static SessionStore Sessions(this WebApplicationFactory<Program> app) => app.Services.GetRequiredService<SessionStore>();

    public static CallerContext Web(string userId, Plan plan = Plan.Free) => new(CallerSource.Web, userId, plan);

    public static DateTimeOffset At(int second) => new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddSeconds(second);
}
