using System.Text;
using Majestix.InferenceApi.Inference.Providers;
using Microsoft.ML.Tokenizers;

namespace Majestix.InferenceApi.Tests.Inference;

/// <summary>
/// Correctness of <see cref="TokenCounter"/> on adversarial input: exact o200k counts for what people write,
/// never below o200k on runs without a break (counted in chunks, so the work stays linear; the time is
/// measured by <c>make bench-counting</c>, not here), and every part of a request the provider bills.
/// </summary>
public sealed class TokenCounterTests
{
    private static readonly TokenCounter Counter = new();
    private static readonly Tokenizer O200k = TiktokenTokenizer.CreateForEncoding("o200k_base");

    private const string Prose = "The quick brown fox jumps over the lazy dog; it then writes a function that returns 42, and doesn't stop. ";

    public static TheoryData<string, string> Writing() => new()
    {
        { "prose", Repeat(Prose, 5_000) },
        { "code", Repeat("    public int Sum(int[] values)\n    {\n        return values.Aggregate(0, (a, b) => a + b); // why: no LINQ Sum on spans\n    }\n\n", 2_000) },
        { "json", Repeat("""{"id":"toolu_01","name":"read_file","input":{"path":"src/app/main.cs","lines":[1,2,3]},"ok":true},""", 2_000) },
        { "chinese", Repeat("我们今天去公园散步，天气很好。然后在湖边喝茶、聊天！", 2_000) },
        { "emoji", Repeat("Ship it 🚀🚀 — thanks 👍🏽 and 👨‍👩‍👧 family. ", 2_000) },
        { "arabic", Repeat("مرحبا بالعالم، كيف حالك اليوم؟ ", 2_000) },
        { "combining", Repeat("Cafe\u0301 re\u0301sume\u0301 nai\u0308ve ", 2_000) },
        { "digits and whitespace", Repeat("Order 1234567 shipped on 2026-12-08 at 00:15\t\t\r\n\r\n   total: 99.95 EUR   \n", 2_000) },
        { "special token", Repeat("text <|endoftext|> more text ", 1_000) },
        { "markdown rules", Repeat("## Heading\n\n" + new string('-', 200) + "\n\n| a | b |\n|---|---|\n", 500) },
    };

    [Theory]
    [MemberData(nameof(Writing))]
    public void WhatPeopleWriteIsCountedExactlyAsO200k(string kind, string text)
    {
        Counter.Count(text).ShouldBe(O200k.CountTokens(text), kind);
    }

    public static TheoryData<string, string> Runs() => new()
    {
        { "latin letter", "x" },
        { "capital letter", "X" },
        { "alternating case", "aA" },
        { "combining mark", "e\u0301" },
        { "lone combining marks", "\u0301" },
        { "CJK", "漢" },
        { "hangul", "한" },
        { "emoji surrogate pair", "😀" },
        { "emoji with skin tone", "👍🏽" },
        { "RTL hebrew", "ש" },
        { "RTL arabic", "ع" },
        { "digits", "7" },
        { "space", " " },
        { "newline", "\n" },
        { "tab", "\t" },
        { "no-break space", "\u00A0" },
        { "punctuation", "=" },
        { "mixed punctuation", "!?.,;:" },
        { "slash", "/" },
        { "apostrophes", "'s" },
        { "zero-width joiner", "\u200D" },
    };

    [Theory]
    [MemberData(nameof(Runs))]
    public void RunsWithoutABreakAreNeverCountedBelowO200k(string kind, string unit)
    {
        // 6,000 characters: long enough to be cut into chunks, short enough for o200k to count whole here.
        var run = Repeat(unit, 6_000 / unit.Length);
        var counted = Counter.Count(run);

        counted.ShouldBeGreaterThanOrEqualTo(O200k.CountTokens(run), kind);
        // A chunked count stays close to the truth: one token a chunk above it at most, never more than the bytes.
        counted.ShouldBeLessThanOrEqualTo(O200k.CountTokens(run) + (run.Length / TokenCounter.MaxPreTokenChars) + 1, kind);
        counted.ShouldBeLessThanOrEqualTo(Encoding.UTF8.GetByteCount(run), kind);
    }

    [Theory]
    [MemberData(nameof(Runs))]
    public void LongRunsCountAtLeastAShortSampleScaled(string kind, string unit)
    {
        var sample = Repeat(unit, 2_000 / unit.Length);
        var longRun = Repeat(unit, 100 * (2_000 / unit.Length));

        // The long run is the sample 100 times over; each seam may merge the last token of one copy into the next.
        Counter.Count(longRun).ShouldBeGreaterThanOrEqualTo((O200k.CountTokens(sample) - 1) * 100, kind);
    }

    [Fact]
    public void RandomUnicodeOfEveryCategoryIsNeverCountedBelowO200k()
    {
        var random = new Random(19);
        for (var round = 0; round < 20; round++)
        {
            var builder = new StringBuilder();
            while (builder.Length < 5_000)
            {
                // Runs of one random character (some past the chunk size) between random single characters.
                var character = random.Next(8) == 0 ? char.ConvertFromUtf32(random.Next(0x1F300, 0x1FAFF)) : ((char)random.Next(0x20, 0xD800)).ToString();
                builder.Insert(builder.Length, character, random.Next(4) == 0 ? random.Next(1, 600) : 1);
            }
            var text = builder.ToString();

            Counter.Count(text).ShouldBeGreaterThanOrEqualTo(O200k.CountTokens(text), $"round {round}");
        }
    }

    [Fact]
    public void InputCountsToolDefinitionsToolCallsAndResults()
    {
        const string Schema = """{"type":"object","properties":{"path":{"type":"string","description":"Path of the file to read, relative to the repository root"}},"required":["path"]}""";
        const string Arguments = """{"path":"src/app/main.cs"}""";
        var bare = new ModelRequest { SystemPrompt = "You are terse.", Messages = [ModelMessage.User("Open main.cs")], MaxTokens = 256 };
        var withTools = bare with
        {
            Messages =
            [
                ModelMessage.User("Open main.cs"),
                new ModelMessage(MessageRole.Assistant, [new ToolUseBlock("toolu_1", "read_file", Arguments)]),
                new ModelMessage(MessageRole.User, [new ToolResultBlock("toolu_1", "class Program { static void Main() {} }")]),
            ],
            Tools = [new ToolDefinition("read_file", "Reads a file of the repository", Schema)],
        };

        var added = Counter.CountInput(withTools) - Counter.CountInput(bare);

        var billable = Counter.Count("read_file") * 2 + Counter.Count(Arguments) + Counter.Count("class Program { static void Main() {} }")
            + Counter.Count("Reads a file of the repository") + Counter.Count(Schema);
        added.ShouldBeGreaterThanOrEqualTo(billable + 2 * TokenCounter.MessageOverheadTokens + 2 * TokenCounter.ToolOverheadTokens);
    }

    [Fact]
    public void InputCountsEveryMessageAndTheSystemPromptAboveTheirText()
    {
        var request = new ModelRequest
        {
            SystemPrompt = "Be brief.",
            Messages = [ModelMessage.User("hello"), ModelMessage.Assistant("hi"), ModelMessage.User("bye")],
            MaxTokens = 16,
        };

        Counter.CountInput(request).ShouldBe(
            Counter.Count("Be brief.") + Counter.Count("hello") + Counter.Count("hi") + Counter.Count("bye")
            + 4 * TokenCounter.MessageOverheadTokens + TokenCounter.RequestOverheadTokens);
    }

    [Fact]
    public void HugeNumbersOfTinyMessagesEachCostTheirFraming()
    {
        var request = new ModelRequest
        {
            Messages = [.. Enumerable.Range(0, 200_000).Select(i => ModelMessage.User(i % 2 == 0 ? "" : "a"))],
            MaxTokens = 1,
        };

        Counter.CountInput(request).ShouldBe(200_000 * TokenCounter.MessageOverheadTokens + 100_000 * Counter.Count("a") + TokenCounter.RequestOverheadTokens);
    }

    [Fact]
    public void CountingAHugeInputStopsWhenTheClientHasGone()
    {
        using var gone = new CancellationTokenSource();
        gone.Cancel();
        var request = new ModelRequest { Messages = [ModelMessage.User(new string('x', 1_000_000))], MaxTokens = 1 };

        Should.Throw<OperationCanceledException>(() => Counter.CountInput(request, gone.Token));
        Should.Throw<OperationCanceledException>(() => Counter.Count(new string('漢', 1_000_000), gone.Token));
        Should.Throw<OperationCanceledException>(() => Counter.Count(Repeat(Prose, 10_000), gone.Token));
    }

    private static string Repeat(string unit, int count) => new StringBuilder(unit.Length * count).Insert(0, unit, count).ToString();
}
