using Majestix.MockUpstream.Behaviour;

namespace Majestix.MockUpstream;

// Read by hand rather than with the configuration binder: knobs use the same snake_case text
// parser as headers and directives, so a typo fails the same way everywhere (at boot here).
internal sealed class MockUpstreamOptions
{
    public const string SectionName = "MockUpstream";

    public MockBehaviour Defaults { get; init; } = new();

    public Dictionary<string, MockBehaviour> Models { get; init; } = new(StringComparer.OrdinalIgnoreCase);

    public string[] ListedModels { get; init; } = [];

    public int RequestLogCapacity { get; init; } = 500;

    public bool RequestLogBodies { get; init; } = true;

    public static MockUpstreamOptions FromConfiguration(IConfiguration configuration)
    {
        var section = configuration.GetSection(SectionName);
        var options = new MockUpstreamOptions
        {
            Defaults = ReadBehaviour(section.GetSection("Defaults")),
            ListedModels = [.. section.GetSection("ListedModels").GetChildren().Select(c => c.Value).OfType<string>()],
            RequestLogCapacity = int.TryParse(section["RequestLogCapacity"], out var capacity) && capacity >= 0 ? capacity : 500,
            RequestLogBodies = !bool.TryParse(section["RequestLogBodies"], out var bodies) || bodies,
        };
        foreach (var model in section.GetSection("Models").GetChildren())
        {
            options.Models[model.Key] = ReadBehaviour(model);
        }
        return options;
    }

    private static MockBehaviour ReadBehaviour(IConfigurationSection section)
    {
        var behaviour = new MockBehaviour();
        foreach (var knob in section.GetChildren())
        {
            if (knob.Value is { } value)
            {
                try
                {
                    behaviour.Set(knob.Key, value);
                }
                catch (FormatException e)
                {
                    throw new InvalidOperationException($"{section.Path}: {e.Message}", e);
                }
            }
        }
        return behaviour;
    }
}
