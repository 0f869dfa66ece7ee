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
    private Usage? _reportedUsage;

    // The attempt under way (sent to its provider and not failed), or the one serving once output started.
    private ModelEntry? _attemptModel;
    private ModelRequest? _attemptRequest;
    private ReceivedOutput? _attemptOutput;

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

    /// <summary>
    /// The model whose price the call is charged at: the serving one, else the one whose request was under way
    /// when the run stopped (a client that left before the first output), else the requested one.
    /// </summary>
    public ModelEntry BilledModel => ServedBy ?? _attemptModel ?? Requested;

    /// <summary>The requested model's key when another model was billed instead (usage events: <c>fallback_from</c>).</summary>
    public string? FallbackFrom => BilledModel.Key != Requested.Key ? Requested.Key : null;

    /// <summary>The terminal failure after output had started, if any.</summary>
    public ProviderFailureException? Failure { get; private set; }

    /// <summary>
    /// What the serving model used: the provider's numbers when it reported them (zeros included), otherwise
    /// o200k counts of the request text and of everything received so far. A request still under way when the
    /// run stopped (the client left before any output) counts too: its provider bills the input it was sent.
    /// Null while nothing was served or under way.
    /// </summary>
    public Usage? Usage
    {
        get
        {
            if (_reportedUsage is not null)
            {
                return _reportedUsage;
            }
            if (_attemptRequest is null || _attemptOutput is null)
            {
                return null;
            }
            return new Usage(_counter.CountInput(_attemptRequest), _counter.CountOutput(_attemptOutput), UsageSource.Counted);
        }
    }

    internal void Record(ModelAttempt attempt)
    {
        _attempts.Add(attempt);
        if (attempt.Failure is not null && ServedBy is null)
        {
            // A provider that failed before any output bills nothing; neither does a usage it reported then.
            (_attemptModel, _attemptRequest, _attemptOutput, _reportedUsage) = (null, null, null, null);
        }
    }

    /// <summary>An attempt's request is about to go to its provider.</summary>
    internal void Begin(ModelEntry model, ModelRequest request, ReceivedOutput received) =>
        (_attemptModel, _attemptRequest, _attemptOutput, _reportedUsage) = (model, request, received, null);

    /// <summary>The attempt under way sent its first output: it serves the call, and no other attempt follows.</summary>
    internal void Serve() => ServedBy = _attemptModel;

    internal void Report(Usage usage) => _reportedUsage = usage;

    internal void Fail(ProviderFailureException failure) => Failure = failure;
}
