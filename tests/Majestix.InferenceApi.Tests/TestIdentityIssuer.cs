using Majestix.DevIdentity;
using Majestix.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Majestix.InferenceApi.Tests;

/// <summary>
/// Stands in for Google's key-set endpoints over real HTTP on loopback, with the dev issuer's keys,
/// and mints tokens. <see cref="Forger"/> signs with keys nobody publishes.
/// </summary>
public sealed class TestIdentityIssuer : IAsyncLifetime
{
    public const string ProjectId = "majestix-test";
    public const string ProjectNumber = "100000000042";
    public const string AppId = "1:100000000042:web:tests";
    public const string InternalAudience = "https://inference-api.test";
    public const string ExecutorAccount = "agent-executor@inference-agents.iam.gserviceaccount.com";

    private readonly string _stateDirectory = Directory.CreateTempSubdirectory("majestix-issuer-").FullName;
    private readonly string _forgerDirectory = Directory.CreateTempSubdirectory("majestix-forger-").FullName;
    private WebApplication? _server;

    public SigningKeys Keys { get; private set; } = null!;

    public DevTokenIssuer Tokens { get; private set; } = null!;

    public DevTokenIssuer Forger { get; private set; } = null!;

    public string BaseUrl { get; private set; } = "";

    private int _keySetRequests;

    public int KeySetRequests => Volatile.Read(ref _keySetRequests);

    private volatile bool _keySetsFail;

    /// <summary>While true, every key-set endpoint answers 500: Google's key sets down. Give such a test its own issuer.</summary>
    public bool KeySetsFail
    {
        get => _keySetsFail;
        set => _keySetsFail = value;
    }

    public async Task InitializeAsync()
    {
        Keys = SigningKeys.LoadOrCreate(_stateDirectory);
        var options = Options.Create(new DevIdentityOptions
        {
            FirebaseProjectId = ProjectId,
            FirebaseProjectNumber = ProjectNumber,
            AppCheckAppId = AppId,
            StateDirectory = _stateDirectory,
        });
        Tokens = new DevTokenIssuer(Keys, options, TimeProvider.System);
        Forger = new DevTokenIssuer(SigningKeys.LoadOrCreate(_forgerDirectory), options, TimeProvider.System);

        var port = FreePort.Next();
        BaseUrl = $"http://127.0.0.1:{port}";
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(BaseUrl);
        _server = builder.Build();
        _server.MapGet("/keys/{issuer}", (string issuer, HttpContext context) =>
        {
            Interlocked.Increment(ref _keySetRequests);
            if (_keySetsFail)
            {
                return Results.StatusCode(StatusCodes.Status500InternalServerError);
            }
            context.Response.Headers.CacheControl = "public, max-age=3600";
            return Results.Text(Keys.PublicJwks(issuer), "application/json");
        });
        await _server.StartAsync();
    }

    /// <summary>A token with exactly these claims, signed by the real key of <paramref name="issuer"/>.</summary>
    public string Sign(string issuer, Dictionary<string, object> claims) =>
        new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims,
            SigningCredentials = Keys.CredentialsFor(issuer),
            TokenType = "JWT",
        });

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
        Directory.Delete(_stateDirectory, recursive: true);
        Directory.Delete(_forgerDirectory, recursive: true);
    }
}
