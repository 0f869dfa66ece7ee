using Majestix.InferenceApi.Credits;
using Majestix.InferenceApi.Redis;
using StackExchange.Redis;
using static Majestix.InferenceApi.Tests.Credits.CreditTestExtensions;

namespace Majestix.InferenceApi.Tests;

[Collection(PlatformCollection.Name)]
public sealed class RedisScriptTests(PlatformFixture platform)
{
    [Fact]
    public async Task AScriptTheServerForgotRunsExactlyOnceAndIsCachedAgain()
    {
        await using var app = new InferenceApiApplication(platform);
        var increment = new RedisScript("return redis.call('INCR', KEYS[1]) -- " + Guid.NewGuid().ToString("N"));
        RedisKey counter = "script-test:counter";

        var first = (long)await increment.EvaluateAsync(app.Redis, [counter], []);
        (await ScriptExistsAsync(app, increment)).ShouldBeTrue();
        await app.Redis.ExecuteAsync("SCRIPT", "FLUSH");
        (await ScriptExistsAsync(app, increment)).ShouldBeFalse();
        var second = (long)await increment.EvaluateAsync(app.Redis, [counter], []);

        first.ShouldBe(1);
        second.ShouldBe(2);
        ((long)await app.Redis.StringGetAsync(counter)).ShouldBe(2);
        (await ScriptExistsAsync(app, increment)).ShouldBeTrue();
    }

    [Fact]
    public async Task AScriptErrorIsRaisedOnceAndNotRetriedAsIfTheScriptWereMissing()
    {
        await using var app = new InferenceApiApplication(platform);
        var failing = new RedisScript("redis.call('INCR', KEYS[1]) return redis.error_reply('ERR refused by script') -- " + Guid.NewGuid().ToString("N"));
        RedisKey counter = "script-test:attempts";

        var error = await Should.ThrowAsync<RedisServerException>(() => failing.EvaluateAsync(app.Redis, [counter], []));

        error.Message.ShouldContain("refused by script");
        ((long)await app.Redis.StringGetAsync(counter)).ShouldBe(1);
    }

    [Fact]
    public async Task AHoldReservedBeforeRedisForgotItsScriptsSettlesOnceAfterwards()
    {
        await using var app = new InferenceApiApplication(platform);
        var credits = app.Credits();
        var hold = (await credits.ReserveAsync("scripted", Units(40))).Reservation!;

        await app.Redis.ExecuteAsync("SCRIPT", "FLUSH");
        var settled = await credits.SettleAsync(hold, Units(15));
        var again = await credits.SettleAsync(hold, Units(15));

        settled.Status.ShouldBe(SettleStatus.Settled);
        settled.ChargedUnits.ShouldBe(Units(15));
        again.Status.ShouldBe(SettleStatus.Duplicate);
        (await credits.GetBalanceAsync("scripted")).TotalUnits.ShouldBe(Units(500) - Units(15));
    }

    private static async Task<bool> ScriptExistsAsync(InferenceApiApplication app, RedisScript script) =>
        (long)((RedisResult[])(await app.Redis.ExecuteAsync("SCRIPT", "EXISTS", script.Sha1))!)[0] == 1;
}
