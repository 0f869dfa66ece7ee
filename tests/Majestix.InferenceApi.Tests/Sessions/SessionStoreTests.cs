using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Majestix.Fernet;
using Majestix.InferenceApi.Identity;
using Majestix.InferenceApi.Redis;
using Majestix.InferenceApi.Sessions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using static Majestix.InferenceApi.Tests.Sessions.SessionTestExtensions;

namespace Majestix.InferenceApi.Tests.Sessions;

[Collection(PlatformCollection.Name)]
public sealed class SessionStoreTests(PlatformFixture platform)
{
    private const string Python = "/usr/bin/python3";

    [Theory]
    [InlineData(Plan.Free, 3_600)]
    [InlineData(Plan.Guru, 86_400)]
    [InlineData(Plan.Pro, 604_800)]
    public async Task SessionKeysExpireByTheCreatorsPlan(Plan plan, int expectedSeconds)
    {
        await using var app = new InferenceApiApplication(platform);
        var caller = Web("tess", plan);
        var id = await app.Sessions().CreateAsync(caller, "claude-haiku");
        var createdTtl = await app.Redis.KeyTimeToLiveAsync(SessionKeys.Meta(id));

        await app.Sessions().AppendAsync(id, caller, [SessionMessage.Text(SessionRoles.User, "hi", At(1))]);

        createdTtl!.Value.TotalSeconds.ShouldBe(expectedSeconds, tolerance: 5);
        (await app.Redis.KeyTimeToLiveAsync(SessionKeys.Meta(id)))!.Value.TotalSeconds.ShouldBe(expectedSeconds, tolerance: 5);
        (await app.Redis.KeyTimeToLiveAsync(SessionKeys.History(id)))!.Value.TotalSeconds.ShouldBe(expectedSeconds, tolerance: 5);
        (await app.Sessions().LoadAsync(id, caller))!.PlanAtCreation.ShouldBe(plan);
    }

    [Fact]
    public async Task AppendRestartsBothExpiriesByTheCallersCurrentPlan()
    {
        await using var app = new InferenceApiApplication(platform);
        var id = await app.Sessions().CreateAsync(Web("uma"), "claude-haiku");
        await app.Sessions().AppendAsync(id, Web("uma"), [SessionMessage.Text(SessionRoles.User, "first", At(1))]);
        await app.Redis.KeyExpireAsync(SessionKeys.Meta(id), TimeSpan.FromSeconds(30));
        await app.Redis.KeyExpireAsync(SessionKeys.History(id), TimeSpan.FromSeconds(30));

        await app.Sessions().AppendAsync(id, Web("uma"), [SessionMessage.Text(SessionRoles.User, "second", At(2))]);
        var freeMeta = await app.Redis.KeyTimeToLiveAsync(SessionKeys.Meta(id));
        var freeHistory = await app.Redis.KeyTimeToLiveAsync(SessionKeys.History(id));
        await app.Sessions().AppendAsync(id, Web("uma", Plan.Pro), [SessionMessage.Text(SessionRoles.User, "upgraded", At(3))]);

        freeMeta!.Value.TotalSeconds.ShouldBe(3_600, tolerance: 5);
        freeHistory!.Value.TotalSeconds.ShouldBe(3_600, tolerance: 5);
        (await app.Redis.KeyTimeToLiveAsync(SessionKeys.Meta(id)))!.Value.TotalSeconds.ShouldBe(604_800, tolerance: 5);
        (await app.Redis.KeyTimeToLiveAsync(SessionKeys.History(id)))!.Value.TotalSeconds.ShouldBe(604_800, tolerance: 5);
    }

    [Fact]
    public async Task SessionTtlSettingOverridesTheFreePlanLifetime()
    {
        await using var app = new InferenceApiApplication(platform, settings: new Dictionary<string, string?> { ["SESSION_TTL"] = "900" });

        var free = await app.Sessions().CreateAsync(Web("val"), "claude-haiku");
        var guru = await app.Sessions().CreateAsync(Web("val", Plan.Guru), "claude-haiku");

        (await app.Redis.KeyTimeToLiveAsync(SessionKeys.Meta(free)))!.Value.TotalSeconds.ShouldBe(900, tolerance: 5);
        (await app.Redis.KeyTimeToLiveAsync(SessionKeys.Meta(guru)))!.Value.TotalSeconds.ShouldBe(86_400, tolerance: 5);
    }

    [Fact]
    public async Task HistoryKeepsTheNewestTenMessagesInOrder()
    {
        await using var app = new InferenceApiApplication(platform);
        var caller = Web("wes");
        var id = await app.Sessions().CreateAsync(caller, "claude-haiku");

        await app.Sessions().AppendAsync(id, caller, [.. Enumerable.Range(0, 7).Select(i => SessionMessage.Text(SessionRoles.User, $"m{i}", At(i)))]);
        var appended = await app.Sessions().AppendAsync(id, caller, [.. Enumerable.Range(7, 5).Select(i => SessionMessage.Text(SessionRoles.Assistant, $"m{i}", At(i)))]);
        var loaded = await app.Sessions().LoadAsync(id, caller);

        var expected = Enumerable.Range(2, 10).Select(i => $"m{i}").ToList();
        appended!.Messages.Select(m => m.Content.GetString()).ShouldBe(expected);
        loaded!.Messages.Select(m => m.Content.GetString()).ShouldBe(expected);
        loaded.Messages[^1].CreatedAt.ShouldBe(At(11));
        ((int)await app.Redis.HashGetAsync(SessionKeys.Meta(id), "message_count")).ShouldBe(10);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public async Task TrimmingNeverLeavesAToolResultWithoutItsToolUse(int turnsPerAppend)
    {
        await using var app = new InferenceApiApplication(platform);
        var caller = Web("tilda");
        var id = await app.Sessions().CreateAsync(caller, "claude-haiku");
        // An agent loop as /chat stores it: each turn is the client's tool_result and the model's next
        // tool_use, so every cut at ten messages falls between a tool_use and its result.
        await app.Sessions().AppendAsync(id, caller,
            [SessionMessage.Text(SessionRoles.User, "fix the build", At(0)), ToolUse("toolu_0", 0)]);

        Session? appended = null;
        for (var turn = 1; turn <= 12; turn += turnsPerAppend)
        {
            appended = await app.Sessions().AppendAsync(id, caller,
                [.. Enumerable.Range(turn, Math.Min(turnsPerAppend, 13 - turn)).SelectMany(t => new[] { ToolResult($"toolu_{t - 1}", t), ToolUse($"toolu_{t}", t) })]);
            var loaded = await app.Sessions().LoadAsync(id, caller);

            foreach (var history in new[] { appended!.Messages, loaded!.Messages })
            {
                history.Count.ShouldBeLessThanOrEqualTo(10);
                history[0].Role.ShouldBe(SessionRoles.User);
                ToolResultIds(history[0]).ShouldBeEmpty();
                var seen = new HashSet<string>();
                foreach (var message in history)
                {
                    ToolResultIds(message).ShouldAllBe(toolUseId => seen.Contains(toolUseId));
                    seen.UnionWith(ToolUseIds(message));
                }
            }
            ((int)await app.Redis.HashGetAsync(SessionKeys.Meta(id), "message_count")).ShouldBe(loaded!.Messages.Count);
        }
        // The opening task stays first, then the newest nine, from the tool_use whose result follows it.
        appended!.Messages.Count.ShouldBe(10);
        appended.Messages[0].Content.GetString().ShouldBe("fix the build");
        ToolUseIds(appended.Messages[1]).ShouldBe(["toolu_8"]);
        ToolUseIds(appended.Messages[^1]).ShouldBe(["toolu_12"]);
    }

    [Fact]
    public async Task AHistoryStoredWithAnOrphanedToolResultFirstIsLoadedWithoutIt()
    {
        await using var app = new InferenceApiApplication(platform);
        var caller = Web("ursula");
        var id = await app.Sessions().CreateAsync(caller, "claude-haiku");
        await app.Sessions().AppendAsync(id, caller, [SessionMessage.Text(SessionRoles.User, "hello", At(0))]);
        // As a trim before this rule could leave it: the first message answers a tool_use that was cut.
        List<SessionMessage> stored = [ToolResult("toolu_a", 1), ToolUse("toolu_b", 1), ToolResult("toolu_b", 2)];
        var token = FernetKeyRing.Parse(HarnessKey).Encrypt(
            JsonSerializer.SerializeToUtf8Bytes(new SealedHistory(id, "ursula", stored), SessionsJson.Default.SealedHistory));
        await app.Redis.StringSetAsync(SessionKeys.History(id), token, expiry: null, keepTtl: true);

        var loaded = await app.Sessions().LoadAsync(id, caller);

        loaded!.Messages.Count.ShouldBe(2);
        ToolUseIds(loaded.Messages[0]).ShouldBe(["toolu_b"]);
        ToolResultIds(loaded.Messages[1]).ShouldBe(["toolu_b"]);
    }

    private static SessionMessage ToolUse(string toolUseId, int turn) =>
        SessionMessage.Blocks(SessionRoles.Assistant, JsonSerializer.SerializeToElement(new object[]
        {
            new { type = "tool_use", id = toolUseId, name = "read_file", input = new { path = $"src/{turn}.cs" } },
        }), At((2 * turn) + 1));

    private static SessionMessage ToolResult(string toolUseId, int turn) =>
        SessionMessage.Blocks(SessionRoles.User, JsonSerializer.SerializeToElement(new object[]
        {
            new { type = "tool_result", tool_use_id = toolUseId, content = $"contents for turn {turn}" },
        }), At(2 * turn));

    private static List<string> ToolUseIds(SessionMessage message) => Blocks(message, "tool_use", "id");

    private static List<string> ToolResultIds(SessionMessage message) => Blocks(message, "tool_result", "tool_use_id");

    private static List<string> Blocks(SessionMessage message, string type, string idField) =>
        message.Content.ValueKind != JsonValueKind.Array
            ? []
            : [.. message.Content.EnumerateArray().Where(b => b.GetProperty("type").GetString() == type).Select(b => b.GetProperty(idField).GetString()!)];

    [Fact]
    public async Task ConcurrentAppendsToOneSessionOnTwoHostsLoseNoMessage()
    {
        var settings = new Dictionary<string, string?> { ["MAX_HISTORY"] = "50" };
        await using var first = new InferenceApiApplication(platform, settings: settings);
        await using var second = new InferenceApiApplication(platform, first.Isolation, settings);
        var caller = Web("xena");
        var id = await first.Sessions().CreateAsync(caller, "claude-haiku");
        var hosts = new[] { first.Sessions(), second.Sessions() };

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            hosts[i % 2].AppendAsync(id, caller, [SessionMessage.Text(SessionRoles.User, $"m{i}", At(i))])));

        results.ShouldAllBe(r => r != null);
        var loaded = await first.Sessions().LoadAsync(id, caller);
        loaded!.Messages.Select(m => m.Content.GetString()).Order().ShouldBe(Enumerable.Range(0, 20).Select(i => $"m{i}").Order());
        loaded.Version.ShouldBe(20);
        ((int)await first.Redis.HashGetAsync(SessionKeys.Meta(id), "message_count")).ShouldBe(20);
    }

    [Fact]
    public async Task StoredHistoryIsNotPlaintextAndDecryptsWithPythonFernet()
    {
        await using var app = new InferenceApiApplication(platform);
        var caller = Web("yara");
        var id = await app.Sessions().CreateAsync(caller, "claude-haiku");
        const string secret = "my password is hunter2";

        await app.Sessions().AppendAsync(id, caller, [SessionMessage.Text(SessionRoles.User, secret, At(1))]);
        var token = (string)(await app.Redis.StringGetAsync(SessionKeys.History(id)))!;
        var meta = await app.Redis.HashGetAllAsync(SessionKeys.Meta(id));

        token.ShouldNotContain("hunter2");
        token.ShouldNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes(secret))[..16]);
        meta.ShouldNotContain(entry => entry.Value.ToString().Contains("hunter2", StringComparison.Ordinal));
        var decryptedHere = Encoding.UTF8.GetString(FernetKeyRing.Parse(HarnessKey).Decrypt(token));
        var decryptedByPython = await PythonDecryptAsync(HarnessKey, token);
        decryptedByPython.ShouldBe(decryptedHere);
        using var history = JsonDocument.Parse(decryptedByPython);
        history.RootElement.GetProperty("session_id").GetString().ShouldBe(id);
        history.RootElement.GetProperty("messages")[0].GetProperty("content").GetString().ShouldBe(secret);
    }

    [Fact]
    public async Task HistoryWrittenUnderAnOldKeyReadsAfterRotationAndTheNextWriteUsesTheNewKey()
    {
        var newKey = FernetKey.Generate().ToBase64UrlString();
        await using var before = new InferenceApiApplication(platform);
        await using var after = new InferenceApiApplication(platform, before.Isolation,
            new Dictionary<string, string?> { ["FERNET_KEYS"] = $"{newKey}, {HarnessKey}" });
        var caller = Web("zoe");
        var id = await before.Sessions().CreateAsync(caller, "claude-haiku");
        await before.Sessions().AppendAsync(id, caller, [SessionMessage.Text(SessionRoles.User, "written under the old key", At(1))]);

        var readAfterRotation = await after.Sessions().LoadAsync(id, caller);
        await after.Sessions().AppendAsync(id, caller, [SessionMessage.Text(SessionRoles.Assistant, "written under the new key", At(2))]);
        var token = (string)(await after.Redis.StringGetAsync(SessionKeys.History(id)))!;

        readAfterRotation!.Messages.Single().Content.GetString().ShouldBe("written under the old key");
        FernetKeyRing.Parse(newKey).TryDecrypt(token, null, out _).ShouldBeTrue();
        FernetKeyRing.Parse(HarnessKey).TryDecrypt(token, null, out _).ShouldBeFalse();
        (await after.Sessions().LoadAsync(id, caller))!.Messages.Count.ShouldBe(2);
    }

    [Fact]
    public async Task TamperedOrUndecryptableHistoryIsNotFound()
    {
        await using var app = new InferenceApiApplication(platform);
        await using var keyRemoved = new InferenceApiApplication(platform, app.Isolation,
            new Dictionary<string, string?> { ["FERNET_KEYS"] = FernetKey.Generate().ToBase64UrlString() });
        var caller = Web("quinn");
        var tampered = await app.Sessions().CreateAsync(caller, "claude-haiku");
        var rotatedAway = await app.Sessions().CreateAsync(caller, "claude-haiku");
        await app.Sessions().AppendAsync(tampered, caller, [SessionMessage.Text(SessionRoles.User, "hello", At(1))]);
        await app.Sessions().AppendAsync(rotatedAway, caller, [SessionMessage.Text(SessionRoles.User, "hello", At(1))]);
        var token = (string)(await app.Redis.StringGetAsync(SessionKeys.History(tampered)))!;
        var flipped = token[40] == 'A' ? 'B' : 'A';
        await app.Redis.StringSetAsync(SessionKeys.History(tampered), token[..40] + flipped + token[41..], expiry: null, keepTtl: true);
        using var web = app.WebClient("quinn");

        using var read = await web.GetAsync(new Uri($"/sessions/{tampered}", UriKind.Relative));

        read.StatusCode.ShouldBe(System.Net.HttpStatusCode.NotFound);
        (await app.Sessions().LoadAsync(tampered, caller)).ShouldBeNull();
        (await app.Sessions().AppendAsync(tampered, caller, [SessionMessage.Text(SessionRoles.User, "more", At(2))])).ShouldBeNull();
        (await keyRemoved.Sessions().LoadAsync(rotatedAway, caller)).ShouldBeNull();
        (await app.Sessions().LoadAsync(rotatedAway, caller)).ShouldNotBeNull();
    }

    [Fact]
    public async Task HistoryCopiedOntoAnotherSessionIsNotFound()
    {
        await using var app = new InferenceApiApplication(platform);
        var victim = Web("rosa");
        var attacker = Web("sly");
        var victimSession = await app.Sessions().CreateAsync(victim, "claude-haiku");
        var attackerSession = await app.Sessions().CreateAsync(attacker, "claude-haiku");
        await app.Sessions().AppendAsync(victimSession, victim, [SessionMessage.Text(SessionRoles.User, "private", At(1))]);

        var victimToken = await app.Redis.StringGetAsync(SessionKeys.History(victimSession));
        await app.Redis.StringSetAsync(SessionKeys.History(attackerSession), victimToken);

        (await app.Sessions().LoadAsync(attackerSession, attacker)).ShouldBeNull();
        (await app.Sessions().LoadAsync(victimSession, victim)).ShouldNotBeNull();
    }

    [Theory]
    [InlineData("")]
    [InlineData("not-a-fernet-key-c2VjcmV0")]
    public async Task StartupFailsNamingFernetKeysWhenTheyAreMissingOrMalformed(string keys)
    {
        await using var app = new InferenceApiApplication(platform, settings: new Dictionary<string, string?> { ["FERNET_KEYS"] = keys });

        var failure = Should.Throw<OptionsValidationException>(() => app.Services);

        failure.Message.ShouldContain("FERNET_KEYS");
        if (keys.Length > 0)
        {
            failure.Message.ShouldNotContain(keys);
        }
    }

    [Fact]
    public async Task MalformedSessionIdsNeverReachRedis()
    {
        // Nothing listens on port 1: any command would fail, and the reject policy would turn it into an exception.
        RedisSetup.TryParse(new RedisOptions { Configuration = "127.0.0.1:1", ConnectTimeoutMilliseconds = 100 }, out var unreachable).ShouldBeTrue();
        await using var multiplexer = await ConnectionMultiplexer.ConnectAsync(unreachable!);
        var store = new SessionStore(multiplexer.GetDatabase(), new RedisGuard(Options.Create(new RedisOptions()), TimeProvider.System, NullLogger<RedisGuard>.Instance),
            Options.Create(new SessionOptions { FernetKeys = HarnessKey }), TimeProvider.System, NullLogger<SessionStore>.Instance);
        var caller = Web("ivy");

        foreach (var malformed in new[] { "", "x", "sess_../../etc/passwd", "sess_AAAAAAAAAAAAAAAAAAAAA*", new string('a', 4096) })
        {
            (await store.LoadAsync(malformed, caller)).ShouldBeNull();
            (await store.DeleteAsync(malformed, caller)).ShouldBeFalse();
            (await store.AppendAsync(malformed, caller, [SessionMessage.Text(SessionRoles.User, "x", At(1))])).ShouldBeNull();
        }
        await Should.ThrowAsync<RedisUnavailableException>(() => store.LoadAsync(SessionIds.New(), caller));
    }

    [Fact]
    public void SessionIdsAreUrlSafeAndCarry128RandomBits()
    {
        var ids = Enumerable.Range(0, 1000).Select(_ => SessionIds.New()).ToList();

        ids.Distinct().Count().ShouldBe(1000);
        ids.ShouldAllBe(id => SessionIds.IsWellFormed(id) && Uri.EscapeDataString(id) == id);
        Convert.FromBase64String(ids[0][5..].Replace('-', '+').Replace('_', '/') + "==").Length.ShouldBe(16);
    }

    private static async Task<string> PythonDecryptAsync(string key, string token)
    {
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("import sys\nfrom cryptography.fernet import Fernet\nsys.stdout.write(Fernet(sys.argv[1].encode()).decrypt(sys.argv[2].encode()).decode())");
        start.ArgumentList.Add(key);
        start.ArgumentList.Add(token);
        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        process.ExitCode.ShouldBe(0, $"{Python} failed (is python3-cryptography installed?):\n{await stderr}");
        return await stdout;
    }
}
