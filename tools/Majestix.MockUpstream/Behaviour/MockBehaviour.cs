using System.Globalization;

namespace Majestix.MockUpstream.Behaviour;

internal enum CutMode
{
    Abort,
    Eof,
    Error,
}

// One bag of knobs per source (header, directive, model, defaults); unset knobs fall through to the next source.
internal sealed class MockBehaviour
{
    public static readonly string[] KnobNames =
    [
        "latency_ms", "ttft_ms", "tokens_per_second", "output_tokens", "status", "fail_times", "fail_key",
        "cut_after_tokens", "cut_mode", "tool_call", "thinking", "thinking_tokens", "retry_after",
    ];

    public int? LatencyMs { get; set; }
    public int? TtftMs { get; set; }
    public double? TokensPerSecond { get; set; }
    public int? OutputTokens { get; set; }
    public int? Status { get; set; }
    public int? FailTimes { get; set; }
    public string? FailKey { get; set; }
    public int? CutAfterTokens { get; set; }
    public CutMode? CutMode { get; set; }
    public string? ToolCall { get; set; }
    public bool? Thinking { get; set; }
    public int? ThinkingTokens { get; set; }
    public int? RetryAfter { get; set; }

    public bool IsEmpty =>
        LatencyMs is null && TtftMs is null && TokensPerSecond is null && OutputTokens is null && Status is null
        && FailTimes is null && FailKey is null && CutAfterTokens is null && CutMode is null && ToolCall is null
        && Thinking is null && ThinkingTokens is null && RetryAfter is null;

    /// <summary>Sets one knob from its text form; throws <see cref="FormatException"/> naming the knob on bad input.</summary>
    public void Set(string knob, string value)
    {
        value = value.Trim();
        switch (knob.Trim().ToLowerInvariant().Replace('-', '_'))
        {
            case "latency_ms": LatencyMs = NonNegative(knob, value); break;
            case "ttft_ms": TtftMs = NonNegative(knob, value); break;
            case "tokens_per_second":
                if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var tps) || tps < 0 || double.IsNaN(tps) || double.IsInfinity(tps))
                {
                    throw new FormatException($"mock knob tokens_per_second must be a non-negative number, got '{value}'");
                }
                TokensPerSecond = tps;
                break;
            case "output_tokens": OutputTokens = NonNegative(knob, value); break;
            case "status":
                var status = NonNegative(knob, value);
                if (status is not (200 or (>= 400 and <= 599)))
                {
                    throw new FormatException($"mock knob status must be 200 or 400-599, got '{value}'");
                }
                Status = status;
                break;
            case "fail_times": FailTimes = NonNegative(knob, value); break;
            case "fail_key": FailKey = value.Length == 0 ? null : value; break;
            case "cut_after_tokens": CutAfterTokens = NonNegative(knob, value); break;
            case "cut_mode":
                CutMode = value.ToLowerInvariant() switch
                {
                    "abort" => Behaviour.CutMode.Abort,
                    "eof" => Behaviour.CutMode.Eof,
                    "error" => Behaviour.CutMode.Error,
                    _ => throw new FormatException($"mock knob cut_mode must be abort, eof or error, got '{value}'"),
                };
                break;
            case "tool_call": ToolCall = value; break;
            case "thinking":
                Thinking = value.ToLowerInvariant() switch
                {
                    "true" or "1" or "yes" or "" => true,
                    "false" or "0" or "no" => false,
                    _ => throw new FormatException($"mock knob thinking must be true or false, got '{value}'"),
                };
                break;
            case "thinking_tokens": ThinkingTokens = NonNegative(knob, value); break;
            case "retry_after": RetryAfter = NonNegative(knob, value); break;
            default: throw new FormatException($"unknown mock knob '{knob}' (known: {string.Join(", ", KnobNames)})");
        }
    }

    /// <summary>Fills every knob this bag leaves unset from <paramref name="fallback"/>.</summary>
    public void FillFrom(MockBehaviour fallback)
    {
        LatencyMs ??= fallback.LatencyMs;
        TtftMs ??= fallback.TtftMs;
        TokensPerSecond ??= fallback.TokensPerSecond;
        OutputTokens ??= fallback.OutputTokens;
        Status ??= fallback.Status;
        FailTimes ??= fallback.FailTimes;
        FailKey ??= fallback.FailKey;
        CutAfterTokens ??= fallback.CutAfterTokens;
        CutMode ??= fallback.CutMode;
        ToolCall ??= fallback.ToolCall;
        Thinking ??= fallback.Thinking;
        ThinkingTokens ??= fallback.ThinkingTokens;
        RetryAfter ??= fallback.RetryAfter;
    }

    public Dictionary<string, string> Values()
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        Add(values, "latency_ms", LatencyMs);
        Add(values, "ttft_ms", TtftMs);
        if (TokensPerSecond is { } tps)
        {
            values["tokens_per_second"] = tps.ToString(CultureInfo.InvariantCulture);
        }
        Add(values, "output_tokens", OutputTokens);
        Add(values, "status", Status);
        Add(values, "fail_times", FailTimes);
        if (FailKey is not null)
        {
            values["fail_key"] = FailKey;
        }
        Add(values, "cut_after_tokens", CutAfterTokens);
        if (CutMode is { } mode)
        {
            values["cut_mode"] = mode.ToString().ToLowerInvariant();
        }
        if (ToolCall is not null)
        {
            values["tool_call"] = ToolCall;
        }
        if (Thinking is { } thinking)
        {
            values["thinking"] = thinking ? "true" : "false";
        }
        Add(values, "thinking_tokens", ThinkingTokens);
        Add(values, "retry_after", RetryAfter);
        return values;
    }

    private static void Add(Dictionary<string, string> values, string name, int? value)
    {
        if (value is { } v)
        {
            values[name] = v.ToString(CultureInfo.InvariantCulture);
        }
    }

    private static int NonNegative(string knob, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 0
            ? n
            : throw new FormatException($"mock knob {knob} must be a non-negative integer, got '{value}'");
}
