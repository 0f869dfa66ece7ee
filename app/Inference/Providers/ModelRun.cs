using Majestix.InferenceApi.Inference.Catalog;

namespace Majestix.InferenceApi.Inference.Providers;

/// <summary>One model tried for a request, and how it ended (null failure: it served the request).</summary>
public sealed record ModelAttempt(ModelEntry Model, ProviderFailureException? Failure, TimeSpan Duration);

/// <summary>
/// One request through <see cref="FallbackRunner"/>: read <see cref="Events"/> once; while and after reading,
/// the properties say which model served, which failed, and what was used so far. When every model fails
/// before any output, enumerating <see cref="Events"/> throws the last <see cref="ProviderFailureException"/>.
/// </summary>
public sealed class ModelRun
{
    private readonly List<ModelAttempt> _attempts = [];
    private readonly TokenCounter _counter;
    private ModelRequest? _servedRequest;
    private ReceivedOutput? _servedOutput;
    private Usage? _reportedUsage;

    internal ModelRun(ModelEntry requested, TokenCounter counter, Func<ModelRun, IAsyncEnumerable<ModelEvent>> events)
    {
        Requested = requested;
        _counter = counter;
        Events = events(this);
    }

    public ModelEntry Requested { get; }

    public IAsyncEnumerable<ModelEvent> Events { get; }

    /// <summary>The model whose output was sent; null until the first output event.</summary>
    public ModelEntry? ServedBy { get; private set; }

    public IReadOnlyList<ModelAttempt> Attempts => _attempts;

    /// <summary>The requested model's key when another model served instead (usage events: <c>fallback_from</c>).</summary>
    public string? FallbackFrom => ServedBy is { } served && served.Key != Requested.Key ? Requested.Key : null;

    /// <summary>The terminal failure after output had started, if any.</summary>
    public ProviderFailureException? Failure { get; private set; }

    /// <summary>
    /// What the serving model used: the provider's numbers when it reported them (zeros included), otherwise
    /// o200k counts of the request text and of everything received so far. Null while nothing was served.
    /// </summary>
    public Usage? Usage
    {
        get
        {
            if (_reportedUsage is not null)
            {
                return _reportedUsage;
            }
            if (_servedRequest is null || _servedOutput is null)
            {
                return null;
            }
            return new Usage(_counter.CountInput(_servedRequest), _counter.CountOutput(_servedOutput), UsageSource.Counted);
        }
    }

    internal void Record(ModelAttempt attempt) => _attempts.Add(attempt);

    internal void Serve(ModelEntry model, ModelRequest request, ReceivedOutput received)
    {
        ServedBy = model;
        _servedRequest = request;
        _servedOutput = received;
    }

    internal void Report(Usage usage) => _reportedUsage = usage;

    internal void Fail(ProviderFailureException failure) => Failure = failure;
}
