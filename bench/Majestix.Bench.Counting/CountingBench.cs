using System.Diagnostics;
using System.Globalization;
using System.Text;
using Majestix.InferenceApi.Inference.Providers;
using Microsoft.ML.Tokenizers;

namespace Majestix.Bench.Counting;

/// <summary>
/// make bench-counting: how long counting input tokens takes on adversarial inputs of growing size, with
/// <see cref="TokenCounter"/> (after) and with the tokenizer called on the whole text as before. Writes
/// bench/results/counting.md. Before-runs that would take longer than <see cref="BeforeBudget"/> are
/// skipped (their growth is quadratic, and the shorter sizes show it).
/// </summary>
internal static class CountingBench
{
    private static readonly TimeSpan BeforeBudget = TimeSpan.FromSeconds(4);

    // 2 MiB is the most a model call's body may carry now (RequestLimits:ModelCallBytes); 25 MB went through before.
    private static readonly int[] Sizes = [20_000, 40_000, 80_000, 160_000, 1_000_000, 2_000_000];
    private static readonly int[] RunSizes = [.. Sizes, 25_000_000];

    public static int Main(string[] args)
    {
        var repo = args.Length == 2 && args[0] == "--repo" ? args[1] : Directory.GetCurrentDirectory();
        var counter = new TokenCounter();
        var tokenizer = TiktokenTokenizer.CreateForEncoding("o200k_base");
        // Load the ranks and JIT both paths before anything is timed.
        counter.Count(Prose(10_000));
        tokenizer.CountTokens(Prose(10_000));

        var rows = new List<string>();
        foreach (var (name, make, sizes) in Inputs())
        {
            var beforeSkipped = false;
            TimeSpan? lastBefore = null;
            foreach (var size in sizes)
            {
                var text = make(size);
                var (after, afterCount) = Time(() => counter.Count(text));
                string before;
                if (beforeSkipped || lastBefore is { } last && last * 4 > BeforeBudget)
                {
                    beforeSkipped = true;
                    before = "skipped";
                }
                else
                {
                    var (elapsed, count) = Time(() => tokenizer.CountTokens(text));
                    lastBefore = elapsed;
                    before = $"{Seconds(elapsed)} ({count:N0} tokens)";
                }
                var row = $"| {name} | {size:N0} | {before} | {Seconds(after)} | {afterCount:N0} | {Rate(size, after)} |";
                Console.WriteLine(row);
                rows.Add(row);
            }
        }

        var messageRows = new List<string>();
        foreach (var messages in new[] { 10_000, 100_000, 1_000_000 })
        {
            var request = new ModelRequest
            {
                Messages = Enumerable.Range(0, messages).Select(i => ModelMessage.User(i % 3 == 0 ? "" : "hi")).ToList(),
                MaxTokens = 1,
            };
            var (after, count) = Time(() => counter.CountInput(request));
            var row = $"| {messages:N0} tiny messages | {Seconds(after)} | {count:N0} | {Rate(messages, after)} |";
            Console.WriteLine(row);
            messageRows.Add(row);
        }

        var report = new StringBuilder()
            .AppendLine("# Counting input tokens on adversarial inputs")
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"`make bench-counting`, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, one thread, Release.")
            .AppendLine("*before*: `TiktokenTokenizer.CountTokens` on the whole text, as `TokenCounter` did until issue 19")
            .AppendLine("(a before-run is skipped once four times the previous size's time would pass 4 s: it grows with the square of the size);")
            .AppendLine("*after*: `TokenCounter.Count` (pre-tokens over 256 characters counted in chunks).")
            .AppendLine()
            .AppendLine("| input | characters | before: seconds (tokens) | after: seconds | after: tokens | after: characters per µs |")
            .AppendLine("|---|---:|---:|---:|---:|---:|");
        rows.ForEach(row => report.AppendLine(row));
        report.AppendLine()
            .AppendLine("`TokenCounter.CountInput` on a request of many tiny messages (one in three empty, the rest `hi`):")
            .AppendLine()
            .AppendLine("| input | seconds | tokens | messages per µs |")
            .AppendLine("|---|---:|---:|---:|");
        messageRows.ForEach(row => report.AppendLine(row));
        var path = Path.Combine(repo, "bench", "results", "counting.md");
        File.WriteAllText(path, report.ToString());
        Console.WriteLine($"wrote {path}");
        return 0;
    }

    private static IEnumerable<(string Name, Func<int, string> Make, int[] Sizes)> Inputs()
    {
        yield return ("run of `x`", size => new string('x', size), RunSizes);
        yield return ("run of CJK `漢`", size => new string('漢', size), Sizes);
        yield return ("run of emoji 😀 (surrogate pairs)", size => Repeat("😀", size), Sizes);
        yield return ("run of spaces", size => new string(' ', size), Sizes);
        yield return ("random Unicode (every plane-0 category, emoji)", RandomUnicode, Sizes);
        yield return ("English prose", Prose, RunSizes);
    }

    private static string Repeat(string unit, int size)
    {
        var builder = new StringBuilder(size + unit.Length);
        while (builder.Length < size)
        {
            builder.Append(unit);
        }
        return builder.ToString();
    }

    private static string RandomUnicode(int size)
    {
        var random = new Random(19);
        var builder = new StringBuilder(size + 2);
        while (builder.Length < size)
        {
            if (random.Next(16) == 0)
            {
                builder.Append(char.ConvertFromUtf32(random.Next(0x1F300, 0x1FAFF)));
                continue;
            }
            var c = (char)random.Next(0x20, 0xD800);
            builder.Append(c);
        }
        return builder.ToString();
    }

    private static string Prose(int size)
    {
        const string Sentence = "The quick brown fox jumps over the lazy dog, and then it writes a function that returns 42. ";
        return Repeat(Sentence, size)[..size];
    }

    private static (TimeSpan Elapsed, int Count) Time(Func<int> count)
    {
        var stopwatch = Stopwatch.StartNew();
        var result = count();
        return (stopwatch.Elapsed, result);
    }

    private static string Seconds(TimeSpan elapsed) => elapsed.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture);

    private static string Rate(int units, TimeSpan elapsed) => (units / Math.Max(elapsed.TotalMicroseconds, 1)).ToString("0.0", CultureInfo.InvariantCulture);
}
