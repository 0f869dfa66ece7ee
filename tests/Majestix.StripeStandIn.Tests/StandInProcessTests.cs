using System.Reflection;
using Majestix.Testing;
using Stripe;

namespace Majestix.StripeStandIn.Tests;

/// <summary>
/// The stand-in as the dev stack and other suites run it: its built dll as a process, configured through
/// `StandIn__*` environment variables, its dev account delivering to a dev webhook URL.
/// </summary>
public sealed class StandInProcessTests(StandInApp app) : IClassFixture<StandInApp>
{
    private const string DllName = "Majestix.StripeStandIn.dll";

    [Fact]
    public async Task TheDllStartsWithTheDevAccountItsEnvFileAndItsDevWebhook()
    {
        var inbox = app.NewInbox();
        inbox.Secret = "whsec_majestix_dev_only";
        var port = FreePort.Next();
        var baseUrl = $"http://127.0.0.1:{port}";
        var envFile = Path.Combine(Path.GetTempPath(), $"standin-process-{Guid.NewGuid():N}.env");
        using var process = ExternalProcess.Start("dotnet", [LocateDll(), "--urls", baseUrl], "stripe stand-in", new Dictionary<string, string>
        {
            ["StandIn__DevWebhookUrl"] = inbox.Url.ToString(),
            ["StandIn__EnvFile"] = envFile,
            ["StandIn__PublicUrl"] = "http://stripe.localhost:9999",
        });
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(baseUrl) };
            await process.WaitUntilReadyAsync(
                async token => (await http.GetAsync(new Uri("/health", UriKind.Relative), token)).IsSuccessStatusCode,
                TimeSpan.FromSeconds(30));

            var env = System.IO.File.ReadAllLines(envFile).Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
            env["STRIPE_API_BASE"].ShouldBe("http://stripe.localhost:9999");
            env["STRIPE_PRO_PRICE_ID"].ShouldBe("price_devPro");

            var stripe = new StripeClient(new StripeClientOptions { ApiKey = "sk_test_majestix_dev", ApiBase = baseUrl });
            var session = await new Stripe.Checkout.SessionService(stripe).CreateAsync(new Stripe.Checkout.SessionCreateOptions
            {
                Mode = "payment",
                LineItems = [new() { Price = "price_devTopup5", Quantity = 1 }],
                SuccessUrl = "https://app.test/ok",
                CustomerEmail = "dev@example.com",
            });
            session.Url.ShouldBe($"http://stripe.localhost:9999/checkout/{session.Id}");
            using var pay = new HttpRequestMessage(HttpMethod.Post, $"/checkout/{session.Id}/pay")
            {
                Content = new FormUrlEncodedContent([KeyValuePair.Create("card", "4242424242424242")]),
            };
            pay.Headers.Accept.ParseAdd("application/json");
            (await http.SendAsync(pay)).EnsureSuccessStatusCode();

            var events = await inbox.WaitForTypesAsync("checkout.session.completed");
            events.Select(e => e.Type).ShouldBe(["payment_intent.succeeded", "charge.succeeded", "checkout.session.completed"]);
            ((Stripe.Checkout.Session)events[2].Data.Object).AmountTotal.ShouldBe(500);
        }
        finally
        {
            System.IO.File.Delete(envFile);
        }
    }

    /// <summary>The tool's own build output (complete with its runtimeconfig), else next to the tests.</summary>
    private static string LocateDll()
    {
        var baseDirectory = AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar);
        var configuration = typeof(StandInProcessTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var candidates = new List<string>();
        for (var directory = new DirectoryInfo(baseDirectory); directory is not null; directory = directory.Parent)
        {
            if (System.IO.File.Exists(Path.Combine(directory.FullName, "Majestix.sln")))
            {
                candidates.Add(Path.Combine(directory.FullName, "tools", "Majestix.StripeStandIn", "bin", configuration, "net10.0", DllName));
                break;
            }
        }
        candidates.Add(Path.Combine(baseDirectory, DllName));
        return candidates.FirstOrDefault(System.IO.File.Exists)
            ?? throw new FileNotFoundException($"{DllName} not found; looked in: {string.Join(", ", candidates)}");
    }
}
