using Majestix.GoogleCloud.Firestore;
using Majestix.InferenceApi.Credits;
using Majestix.InferenceApi.Inference;
using Majestix.InferenceApi.Inference.Catalog;
using Majestix.InferenceApi.Tests.Inference;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Shouldly;
using StackExchange.Redis;

namespace Majestix.InferenceApi.Tests.Credits;

internal static class CreditTestExtensions
{
    public static CreditStore Credits(this WebApplicationFactory<Program> app) => app.Services.GetRequiredService<CreditStore>();

    public static CreditReaper Reaper(this WebApplicationFactory<Program> app) => app.Services.GetRequiredService<CreditReaper>();

    /// <summary>Holds <paramref name="count"/> reservations of <paramref name="units"/> each for the user, one after another.</summary>
    public static async Task<List<CreditReservation>> ReserveManyAsync(this CreditStore credits, string userId, int count, long units)
    {
        var holds = new List<CreditReservation>(count);
        for (var i = 0; i < count; i++)
        {
            holds.Add((await credits.ReserveAsync(userId, units)).Reservation!);
        }
        return holds;
    }

    /// <summary>A signed-in web client of <paramref name="app"/> (a harness changed by <c>WithWebHostBuilder</c>), as <see cref="InferenceApiApplication.WebClient"/>.</summary>
    public static HttpClient WebClient(this WebApplicationFactory<Program> app, InferenceApiApplication harness, string userId, bool admin = false)
    {
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer",
            harness.Issuer.Tokens.FirebaseIdToken(userId, $"{userId}@example.com", admin, TimeSpan.FromHours(1)));
        client.DefaultRequestHeaders.Add("X-Firebase-AppCheck", harness.Issuer.Tokens.AppCheckToken(TestIdentityIssuer.AppId, TimeSpan.FromHours(1)));
        return client;
    }

    public static IDatabase Redis(this WebApplicationFactory<Program> app) => app.Services.GetRequiredService<IDatabase>();

    /// <summary>Waits until the settles the OpenAI-compatible endpoint left running after its answers are done.</summary>
    public static Task WaitForSettlesAsync(this WebApplicationFactory<Program> app) =>
        app.Services.GetRequiredService<BackgroundSettles>().WhenIdleAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20));

    /// <summary>
    /// Waits until every settled charge's ledger entry is written by the background writer (the pending set
    /// is empty: a member leaves it only once its entry is confirmed in the ledger), after any settle still
    /// running has marked its entry pending.
    /// </summary>
    public static async Task WaitForLedgerWritesAsync(this WebApplicationFactory<Program> app, int stillPending = 0)
    {
        await app.WaitForSettlesAsync();
        var redis = app.Services.GetRequiredService<IDatabase>();
        var deadline = DateTimeOffset.UtcNow.AddSeconds(20);
        while (await redis.SortedSetLengthAsync(CreditKeys.LedgerPending) > stillPending)
        {
            if (DateTimeOffset.UtcNow > deadline)
            {
                throw new TimeoutException($"The ledger writer left {await redis.SortedSetLengthAsync(CreditKeys.LedgerPending)} entries pending.");
            }
            await Task.Delay(20);
        }
    }

    /// <summary>Makes every ledger entry still pending due for the reaper's re-drive, as if its grace had passed.</summary>
    public static async Task AgePendingLedgerEntriesAsync(this WebApplicationFactory<Program> app)
    {
        var redis = app.Services.GetRequiredService<IDatabase>();
        var due = DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds();
        foreach (var member in await redis.SortedSetRangeByRankAsync(CreditKeys.LedgerPending))
        {
            await redis.SortedSetAddAsync(CreditKeys.LedgerPending, member, due);
        }
    }

    public static long Units(decimal credits) => CreditUnits.FromCredits(credits)!.Value;

    public static Task SeedCreditUserAsync(this WebApplicationFactory<Program> app, string userId, string plan, DateTimeOffset signedUp) =>
        app.Services.GetRequiredService<FirestoreClient>().SetAsync($"users/{userId}",
            new Dictionary<string, FirestoreValue> { ["uid"] = userId, ["plan"] = plan, ["created_at"] = signedUp });

    /// <summary>What <paramref name="billed"/> (the mock upstream's usage of one request) costs at <paramref name="modelKey"/>'s price.</summary>
    public static long PriceOf(this WebApplicationFactory<Program> app, string modelKey, MockRequest billed)
    {
        var model = app.Services.GetRequiredService<ModelCatalog>().Find(modelKey)!;
        return CreditPrice.ForTokens(model.InputUsdPerMillion, model.OutputUsdPerMillion, billed.InputTokens, billed.OutputTokens);
    }

    /// <summary>
    /// One charge entry of <paramref name="expected"/>, the balance moved by exactly that with no hold left held, and a
    /// rebuild from the ledger arriving at the same balance.
    /// </summary>
    public static async Task AssertChargedOnceAsync(this WebApplicationFactory<Program> app, string userId, long before, long expected)
    {
        await app.WaitForLedgerWritesAsync();
        var charges = (await app.LedgerAsync(userId)).Where(e => e.Type == LedgerEntryTypes.Charge).ToList();
        charges.Count.ShouldBe(1);
        (-(charges[0].PlanDelta + charges[0].TopupDelta)).ShouldBe(expected);
        (before - (await app.Credits().GetBalanceAsync(userId)).TotalUnits).ShouldBe(expected);
        (await app.Redis().HashValuesAsync(CreditKeys.Holds(userId))).ShouldAllBe(record => ((string)record!).StartsWith("settled|", StringComparison.Ordinal));
        (await app.Credits().RefreshAsync(userId)).TotalUnits.ShouldBe(before - expected);
    }

    public static async Task<IReadOnlyList<LedgerEntry>> LedgerAsync(this WebApplicationFactory<Program> app, string userId) =>
        await app.Services.GetRequiredService<CreditLedger>().ReadAllAsync(userId, CancellationToken.None);

    /// <summary>What Redis losing its data looks like to this app: every key under its prefix gone (other tests share the server).</summary>
    public static async Task DropRedisDataAsync(this WebApplicationFactory<Program> app, string keyPrefix)
    {
        var multiplexer = app.Services.GetRequiredService<IConnectionMultiplexer>();
        var server = multiplexer.GetServer(multiplexer.GetEndPoints()[0]);
        var database = multiplexer.GetDatabase();
        await foreach (var key in server.KeysAsync(pattern: keyPrefix + "*"))
        {
            await database.KeyDeleteAsync(key);
        }
    }
}
