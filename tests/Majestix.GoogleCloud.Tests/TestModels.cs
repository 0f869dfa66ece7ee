using System.Text.Json.Serialization;
using Majestix.GoogleCloud.Firestore;

namespace Majestix.GoogleCloud.Tests;

public enum Plan
{
    Free,
    Guru,
    Pro,
}

public sealed record Counter(long Value);

public sealed record Nested(string Name, DateTimeOffset When, Dictionary<string, string> Labels);

public sealed class EveryType
{
    public string? Nothing { get; set; }

    public bool Flag { get; set; }

    public long BigCount { get; set; }

    public int SmallCount { get; set; }

    public double Ratio { get; set; }

    public double NotANumber { get; set; }

    public double? MaybeRatio { get; set; }

    public DateTimeOffset At { get; set; }

    public DateTime AtUtc { get; set; }

    public string Text { get; set; } = string.Empty;

    public byte[] Blob { get; set; } = [];

    public ReadOnlyMemory<byte> Memory { get; set; }

    public FirestoreReference? Owner { get; set; }

    public GeoPoint Location { get; set; }

    public List<string> Tags { get; set; } = [];

    public long[] Numbers { get; set; } = [];

    public Dictionary<string, long> Limits { get; set; } = [];

    public Nested? Inner { get; set; }

    public List<Nested> Items { get; set; } = [];

    public Plan Plan { get; set; }
}

public sealed record TaskRow(string Owner, long Priority, string Title, bool Done);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    UseStringEnumConverter = true,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(Counter))]
[JsonSerializable(typeof(EveryType))]
[JsonSerializable(typeof(TaskRow))]
internal sealed partial class TestJsonContext : JsonSerializerContext;
