using System.Collections.Concurrent;

namespace Majestix.MockUpstream.Behaviour;

// Per-model behaviour (runtime PUTs over configuration) and the fail_times counters.
internal sealed class BehaviourStore
{
    private readonly ConcurrentDictionary<string, MockBehaviour> _runtime = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, int> _failCounters = new(StringComparer.OrdinalIgnoreCase);

    public BehaviourStore(MockUpstreamOptions options)
    {
        Defaults = options.Defaults;
        Configured = options.Models;
    }

    public MockBehaviour Defaults { get; }

    public IReadOnlyDictionary<string, MockBehaviour> Configured { get; }

    public IReadOnlyDictionary<string, MockBehaviour> Runtime => _runtime;

    public void Put(string model, MockBehaviour behaviour)
    {
        _runtime[model] = behaviour;
        ResetCounters(model);
    }

    public bool Remove(string model)
    {
        ResetCounters(model);
        return _runtime.TryRemove(model, out _);
    }

    public void Clear()
    {
        _runtime.Clear();
        _failCounters.Clear();
    }

    public MockBehaviour? RuntimeFor(string model) => _runtime.TryGetValue(model, out var b) ? b : null;

    public MockBehaviour? ConfiguredFor(string model) => Configured.TryGetValue(model, out var b) ? b : null;

    /// <summary>Counts one request against <paramref name="key"/> and returns how many it has seen, this one included.</summary>
    public int CountFailure(string key) => _failCounters.AddOrUpdate(key, 1, static (_, n) => n + 1);

    private void ResetCounters(string model) => _failCounters.TryRemove(model, out _);
}
