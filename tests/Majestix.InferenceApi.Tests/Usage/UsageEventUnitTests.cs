using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Majestix.InferenceApi.Credits;
using Majestix.InferenceApi.Identity;
using Majestix.InferenceApi.Inference.Providers;
using Majestix.InferenceApi.UsageEvents;
using Majestix.Testing;
using Microsoft.Extensions.Time.Testing;
using static Majestix.InferenceApi.Tests.UsageEvents.UsageTestExtensions;

namespace Majestix.InferenceApi.Tests.UsageEvents;

public sealed class UsageEventUnitTests
{
    private const string Salt = "unit-test-salt-0123456789";
    private static readonly BigQuerySchema Schema = BigQuerySchema.Load(Path.Combine(AppContext.BaseDirectory, "schemas", "usage_events.json"));
    private static readonly UserIdHasher Hasher = new(Salt);
    private static readonly DateTimeOffset Completed = new(2026, 11, 26, 14, 5, 6, 789, 123, TimeSpan.Zero);

    [Fact]
    public void AnEventWritesEveryColumnOfTheTableAndNothingElseWhetherItsNullableColumnsAreSetOrNot()
    {
        var full = Row(Call(AgentCaller) with { AgentTaskId = "task_8Hk2", FallbackFrom = "claude-opus", Routed = true, Outcome = UsageOutcome.Error("internal_error") });
        var sparse = Row(Call(WebCaller) with { Streamed = false, TimeToFirstToken = null });

        foreach (var row in new[] { full, sparse })
        {
            Schema.Problems(row).ShouldBeEmpty(row.GetRawText());
            row.EnumerateObject().Select(p => p.Name).Order().ShouldBe(Schema.FieldNames.Order());
        }
        full.EnumerateObject().ShouldAllBe(p => p.Value.ValueKind != JsonValueKind.Null);
        sparse.GetProperty("source_id").ValueKind.ShouldBe(JsonValueKind.Null);
        sparse.GetProperty("time_to_first_token_ms").ValueKind.ShouldBe(JsonValueKind.Null);
        sparse.GetProperty("fallback_from").ValueKind.ShouldBe(JsonValueKind.Null);
        sparse.GetProperty("error_code").ValueKind.ShouldBe(JsonValueKind.Null);
        full.GetProperty("event_time").GetString().ShouldBe("2026-11-26T14:05:06.789123Z");
    }

    [Theory]
    [InlineData(0L, "0")]
    [InlineData(1L, "0.000001")]
    [InlineData(1_750_000L, "1.75")]
    [InlineData(28_000_001L, "28.000001")]
    [InlineData(12_345_678L, "12.345678")]
    // 2^53 + 1 micro-credits: a double in between would round it to ...992.
    [InlineData(9_007_199_254_740_993L, "9007199254.740993")]
    public void CreditsChargedIsTheSettledMicroCreditsAsAnExactDecimalNumber(long units, string expected)
    {
        var credits = Row(Call(KeyCaller) with { CreditUnits = units }).GetProperty("credits_charged");

        credits.ValueKind.ShouldBe(JsonValueKind.Number);
        credits.GetRawText().ShouldBe(expected);
        (credits.GetDecimal() * CreditUnits.PerCredit).ShouldBe(units);
    }

    [Fact]
    public void SourceIdIsTheKeyIdForKeysTheTaskOrServiceAccountNameForAgentsAndNullForWeb()
    {
        Row(Call(WebCaller)).GetProperty("source_id").ValueKind.ShouldBe(JsonValueKind.Null);
        Row(Call(KeyCaller)).GetProperty("source_id").GetString().ShouldBe(KeyCaller.KeyId);
        Row(Call(AgentCaller) with { AgentTaskId = "task_8Hk2" }).GetProperty("source_id").GetString().ShouldBe("task_8Hk2");
        Row(Call(AgentCaller)).GetProperty("source_id").GetString().ShouldBe("sa:agent-executor");

        var sources = new[] { WebCaller, KeyCaller, AgentCaller }.Select(caller => Row(Call(caller)).GetProperty("source").GetString());
        sources.ShouldBe(["web", "api_key", "agent"]);
    }

    [Fact]
    public void TheUserIdIsTheKeyedHashOfTheBilledUserNeverTheUidItself()
    {
        var web = Row(Call(WebCaller));
        var agent = Row(Call(AgentCaller));

        web.GetProperty("user_id").GetString().ShouldBe(Hasher.Hash(WebCaller.UserId!));
        agent.GetProperty("user_id").GetString().ShouldBe(Hasher.Hash(AgentBilledUser));
        web.GetRawText().ShouldNotContain(WebCaller.UserId!);
        agent.GetRawText().ShouldNotContain(AgentBilledUser);
        agent.GetRawText().ShouldNotContain(ServiceAccount);
        agent.GetRawText().ShouldNotContain("@");
    }

    [Fact]
    public void UserHashIsStablePerUidAndDiffersAcrossUidsAndSalts()
    {
        var hash = Hasher.Hash("uid-a");

        new UserIdHasher(Salt).Hash("uid-a").ShouldBe(hash);
        hash.Length.ShouldBe(32);
        hash.ShouldAllBe(c => char.IsAsciiDigit(c) || (c >= 'a' && c <= 'f'));
        Hasher.Hash("uid-b").ShouldNotBe(hash);
        new UserIdHasher(Salt + "x").Hash("uid-a").ShouldNotBe(hash);
        // Keyed for this purpose only: not the audit ip_hash construction under the same salt.
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Salt), "uid-a"u8))[..32].ShouldNotBe(hash);
    }

    [Fact]
    public void TimeToFirstTokenIsWholeMillisecondsForStreamedCallsAndNullOtherwise()
    {
        var streamed = Row(Call(WebCaller));
        streamed.GetProperty("time_to_first_token_ms").GetInt64().ShouldBe(310);
        streamed.GetProperty("latency_ms").GetInt64().ShouldBe(1_850);

        Row(Call(WebCaller) with { Streamed = false }).GetProperty("time_to_first_token_ms").ValueKind.ShouldBe(JsonValueKind.Null);
        Row(Call(WebCaller) with { TimeToFirstToken = null }).GetProperty("time_to_first_token_ms").ValueKind.ShouldBe(JsonValueKind.Null);
    }

    [Fact]
    public void StopwatchKeepsTheFirstTokenTimeAndKeepsCountingTheLatency()
    {
        var time = new FakeTimeProvider();
        var watch = UsageStopwatch.StartNew(time);
        watch.TimeToFirstToken.ShouldBeNull();

        time.Advance(TimeSpan.FromMilliseconds(120));
        watch.MarkFirstToken();
        time.Advance(TimeSpan.FromMilliseconds(300));
        watch.MarkFirstToken();

        watch.TimeToFirstToken.ShouldBe(TimeSpan.FromMilliseconds(120));
        watch.Elapsed.ShouldBe(TimeSpan.FromMilliseconds(420));
    }

    [Theory]
    [InlineData(ProviderFailureKind.Timeout, "timeout", "provider_timeout")]
    [InlineData(ProviderFailureKind.ServerError, "error", "provider_server_error")]
    [InlineData(ProviderFailureKind.RateLimited, "error", "provider_rate_limited")]
    [InlineData(ProviderFailureKind.Overloaded, "error", "provider_overloaded")]
    [InlineData(ProviderFailureKind.ConnectionFailed, "error", "provider_connection_failed")]
    [InlineData(ProviderFailureKind.StreamCut, "error", "provider_stream_cut")]
    [InlineData(ProviderFailureKind.InvalidRequest, "error", "provider_invalid_request")]
    [InlineData(ProviderFailureKind.Refused, "error", "provider_refused")]
    public void ProviderFailuresBecomeAStatusAndAFixedCodeWithoutTheProvidersWords(ProviderFailureKind kind, string status, string code)
    {
        var failure = new ProviderFailureException(kind, "anthropic", 529, new InvalidOperationException("upstream said: secret prompt echo"));

        var row = Row(Call(WebCaller) with { Outcome = UsageOutcome.ProviderFailed(failure) });

        row.GetProperty("status").GetString().ShouldBe(status);
        row.GetProperty("error_code").GetString().ShouldBe(code);
        row.GetRawText().ShouldNotContain("secret prompt echo");
    }

    [Theory]
    [InlineData("")]
    [InlineData("Upstream failed")]
    [InlineData("write a poem about my cat")]
    [InlineData("provider-error")]
    [InlineData("_leading_underscore")]
    [InlineData("a_code_longer_than_sixty_four_characters_is_probably_a_message_not_a_code")]
    public void ErrorCodesThatCouldCarryTextAreRefused(string code)
    {
        Should.Throw<ArgumentException>(() => UsageOutcome.Error(code));
        Should.Throw<ArgumentException>(() => UsageOutcome.TimedOut(code));
    }

    [Fact]
    public void OutcomesCarryTheirSchemaStatusAndOkCarriesNoCode()
    {
        UsageOutcome.Ok.StatusName.ShouldBe("ok");
        UsageOutcome.Ok.ErrorCode.ShouldBeNull();
        UsageOutcome.Cancelled.StatusName.ShouldBe("cancelled");
        UsageOutcome.Error("internal_error").StatusName.ShouldBe("error");
        UsageOutcome.TimedOut("gateway_timeout").StatusName.ShouldBe("timeout");
    }

    [Fact]
    public void CallsThatCannotBecomeAValidRowAreRefusedAtTheCallSite()
    {
        Should.Throw<ArgumentException>(() => Event(Call(AgentCaller) with { BilledUserId = null }));
        Should.Throw<ArgumentException>(() => Event(Call(WebCaller) with { BilledUserId = "someone-else" }));
        Should.Throw<ArgumentException>(() => Event(Call(KeyCaller) with { AgentTaskId = "task_1" }));
        Should.Throw<ArgumentException>(() => Event(Call(KeyCaller with { KeyId = null })));
        Should.Throw<ArgumentException>(() => Event(Call(WebCaller with { UserId = null })));
        Should.Throw<ArgumentException>(() => Event(Call(WebCaller) with { Model = "" }));
        Should.Throw<ArgumentOutOfRangeException>(() => Event(Call(WebCaller) with { InputTokens = -1 }));
        Should.Throw<ArgumentOutOfRangeException>(() => Event(Call(WebCaller) with { OutputTokens = -1 }));
        Should.Throw<ArgumentOutOfRangeException>(() => Event(Call(WebCaller) with { CreditUnits = -1 }));
        Should.Throw<ArgumentOutOfRangeException>(() => Event(Call(WebCaller) with { Latency = TimeSpan.FromMilliseconds(-1) }));
        Should.Throw<ArgumentException>(() => UsageLog.ToEvent(Call(WebCaller), "", Completed, Hasher));
    }

    private static UsageEvent Event(ModelCallUsage call) => UsageLog.ToEvent(call, "req-unit", Completed, Hasher);

    private static JsonElement Row(ModelCallUsage call) =>
        JsonDocument.Parse(JsonSerializer.SerializeToUtf8Bytes(Event(call), UsageJson.Default.UsageEvent)).RootElement.Clone();
}
