namespace Majestix.MockUpstream.Control;

internal sealed class RequestLogEntry
{
    public long Seq { get; init; }
    public DateTimeOffset Time { get; init; }
    public required string Method { get; init; }
    public required string Path { get; init; }
    public required string Provider { get; init; }
    public string? Model { get; set; }
    public bool Stream { get; set; }
    public int Status { get; set; }

    /// <summary>ok, error (injected status), cut, or invalid (the request itself was rejected).</summary>
    public string Outcome { get; set; } = "ok";

    public string? Error { get; set; }
    public Dictionary<string, string> Headers { get; init; } = [];
    public Dictionary<string, string> Behaviour { get; set; } = [];
    public string[] BehaviourSources { get; set; } = [];
    public int? MaxTokens { get; set; }
    public int MessageCount { get; set; }
    public string[] Tools { get; set; } = [];
    public int InputTokens { get; set; }
    public int OutputTokens { get; set; }
    public string? FinishReason { get; set; }
    public string? ToolCall { get; set; }
    public string? Body { get; set; }
}

// Bounded ring buffer: tests read what the gateway sent without the mock growing under a benchmark.
internal sealed class RequestLog(int capacity)
{
    private static readonly string[] RecordedHeaders =
    [
        "content-type", "user-agent", "anthropic-version", "anthropic-beta", "openai-organization", "openai-project",
        "http-referer", "x-title", "x-request-id", "traceparent", "idempotency-key", "x-stainless-retry-count", "accept-encoding",
    ];

    private readonly Lock _lock = new();
    private readonly RequestLogEntry?[] _entries = new RequestLogEntry?[Math.Max(capacity, 0)];
    private long _next;

    public bool Enabled => _entries.Length > 0;

    public long NextSeq() => Interlocked.Increment(ref _next);

    public void Add(RequestLogEntry entry)
    {
        if (_entries.Length == 0)
        {
            return;
        }
        lock (_lock)
        {
            _entries[entry.Seq % _entries.Length] = entry;
        }
    }

    public RequestLogEntry[] Snapshot()
    {
        lock (_lock)
        {
            return [.. _entries.OfType<RequestLogEntry>().OrderBy(e => e.Seq)];
        }
    }

    public void Clear()
    {
        lock (_lock)
        {
            Array.Clear(_entries);
        }
    }

    public static Dictionary<string, string> HeaderSubset(IHeaderDictionary headers)
    {
        var subset = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in headers)
        {
            var lower = name.ToLowerInvariant();
            if (lower.StartsWith("x-mock-", StringComparison.Ordinal) || RecordedHeaders.Contains(lower))
            {
                subset[lower] = value.ToString();
            }
            else if (lower is "authorization" or "x-api-key" or "x-goog-api-key")
            {
                subset[lower] = Fingerprint(value.ToString());
            }
        }
        return subset;
    }

    // Enough to tell which key the gateway used without keeping the secret.
    private static string Fingerprint(string credential)
    {
        var space = credential.IndexOf(' ', StringComparison.Ordinal);
        var scheme = space > 0 ? credential[..(space + 1)] : "";
        var secret = space > 0 ? credential[(space + 1)..] : credential;
        return secret.Length <= 4 ? scheme + "****" : scheme + "****" + secret[^4..];
    }
}
