namespace Majestix.MockUpstream.Generation;

// FNV-1a over the request text, then SplitMix64: same prompt and model, same output, on any machine.
internal struct Seed
{
    private ulong _hash = 14695981039346656037UL;

    public Seed()
    {
    }

    public readonly ulong Value => _hash;

    public void Add(string text)
    {
        foreach (var c in text)
        {
            _hash = (_hash ^ c) * 1099511628211UL;
        }
        _hash = (_hash ^ '\n') * 1099511628211UL;
    }
}

internal struct SplitMix64(ulong state)
{
    private ulong _state = state;

    public ulong Next()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public int Next(int exclusiveMax) => (int)(Next() % (ulong)exclusiveMax);
}
