using Majestix.GoogleCloud.Firestore;
using Majestix.Testing;

namespace Majestix.GoogleCloud.Tests;

[Collection(FirestoreCollection.Name)]
public sealed class FirestoreMappingTests(FirestoreEmulatorFixture emulator) : FirestoreTestBase(emulator)
{
    // Microsecond-aligned, because that is what Firestore stores.
    private static readonly DateTimeOffset SampleTime = new DateTimeOffset(2025, 1, 31, 12, 0, 0, TimeSpan.Zero).AddTicks(1_234_560);

    [Fact]
    public async Task EveryValueTypeRoundTripsThroughTypedMapping()
    {
        var original = Sample(Firestore.Document("users/owner"));

        await Firestore.CreateAsync("samples/s1", original, TestJsonContext.Default.EveryType);
        var read = await Firestore.GetAsync("samples/s1", TestJsonContext.Default.EveryType);

        read.ShouldNotBeNull();
        read.Nothing.ShouldBeNull();
        read.Flag.ShouldBeTrue();
        read.BigCount.ShouldBe(long.MaxValue);
        read.SmallCount.ShouldBe(-42);
        read.Ratio.ShouldBe(0.125);
        double.IsNaN(read.NotANumber).ShouldBeTrue();
        read.MaybeRatio.ShouldBeNull();
        read.At.ShouldBe(SampleTime);
        read.AtUtc.ShouldBe(SampleTime.UtcDateTime);
        read.AtUtc.Kind.ShouldBe(DateTimeKind.Utc);
        read.Text.ShouldBe("héllo ✓");
        read.Blob.ShouldBe(new byte[] { 0, 1, 2, 255 });
        read.Memory.ToArray().ShouldBe(new byte[] { 9, 8, 7 });
        read.Owner.ShouldBe(original.Owner);
        read.Location.ShouldBe(new GeoPoint(52.52, 13.405));
        read.Tags.ShouldBe(["a", "b"]);
        read.Numbers.ShouldBe([1L, -2L, 3L]);
        read.Limits.ShouldBe(new Dictionary<string, long> { ["rpm"] = 30, ["daily"] = 1000 });
        read.Inner.ShouldNotBeNull();
        read.Inner.Name.ShouldBe("inner");
        read.Inner.When.ShouldBe(SampleTime);
        read.Inner.Labels.ShouldBe(new Dictionary<string, string> { ["k"] = "v" });
        read.Items.Count.ShouldBe(1);
        read.Items[0].Name.ShouldBe("item");
        read.Plan.ShouldBe(Plan.Guru);
    }

    [Fact]
    public async Task TypedMappingStoresNativeFirestoreTypes()
    {
        await Firestore.CreateAsync("samples/s1", Sample(Firestore.Document("users/owner")), TestJsonContext.Default.EveryType);

        var fields = (await Firestore.GetAsync("samples/s1"))!.Fields;

        fields["nothing"].Kind.ShouldBe(FirestoreValueKind.Null);
        fields["flag"].Kind.ShouldBe(FirestoreValueKind.Boolean);
        fields["big_count"].Kind.ShouldBe(FirestoreValueKind.Integer);
        fields["small_count"].Kind.ShouldBe(FirestoreValueKind.Integer);
        fields["ratio"].Kind.ShouldBe(FirestoreValueKind.Double);
        fields["at"].TimestampValue.ShouldBe(SampleTime);
        fields["at_utc"].Kind.ShouldBe(FirestoreValueKind.Timestamp);
        fields["blob"].Kind.ShouldBe(FirestoreValueKind.Bytes);
        fields["memory"].Kind.ShouldBe(FirestoreValueKind.Bytes);
        fields["owner"].ReferenceValue.Path.ShouldBe("users/owner");
        fields["location"].GeoPointValue.ShouldBe(new GeoPoint(52.52, 13.405));
        fields["tags"].Kind.ShouldBe(FirestoreValueKind.Array);
        fields["limits"].MapValue["rpm"].IntegerValue.ShouldBe(30);
        fields["inner"].MapValue["when"].Kind.ShouldBe(FirestoreValueKind.Timestamp);
        fields["items"].ArrayValue[0].MapValue["when"].Kind.ShouldBe(FirestoreValueKind.Timestamp);
        fields["plan"].StringValue.ShouldBe("Guru");
    }

    [Fact]
    public async Task LowLevelValuesRoundTripEveryKind()
    {
        var reference = Firestore.Document("users/u1");
        var values = Fields(
            ("null", FirestoreValue.Null),
            ("bool", false),
            ("int", long.MinValue),
            ("double", -0.5),
            ("infinity", double.PositiveInfinity),
            ("timestamp", SampleTime),
            ("string", string.Empty),
            ("bytes", FirestoreValue.FromBytes([1, 2, 3])),
            ("reference", reference),
            ("geo", new GeoPoint(0, 0)),
            ("array", FirestoreValue.FromArray(1L, "two", FirestoreValue.FromMap(Fields(("three", 3.0))))),
            ("emptyArray", FirestoreValue.FromArray()),
            ("map", FirestoreValue.FromMap(Fields(("nested", FirestoreValue.FromMap(Fields(("deep", true))))))),
            ("emptyMap", FirestoreValue.FromMap(Fields())));

        await Firestore.CreateAsync("samples/raw", values);
        var read = (await Firestore.GetAsync("samples/raw"))!.Fields;

        read.Count.ShouldBe(values.Count);
        foreach (var (name, value) in values)
        {
            read[name].ShouldBe(value, $"field {name}");
        }
    }

    [Fact]
    public void TimestampsKeepMicrosecondsAndDropFinerPrecision()
    {
        var json = """{"timestampValue":"2025-01-31T12:00:00.123456789Z"}""";

        var value = System.Text.Json.JsonSerializer.Deserialize(json, FirestoreJsonContext.Default.FirestoreValue)!;

        value.TimestampValue.ShouldBe(new DateTimeOffset(2025, 1, 31, 12, 0, 0, TimeSpan.Zero).AddTicks(1_234_567));
        System.Text.Json.JsonSerializer.Serialize(value, FirestoreJsonContext.Default.FirestoreValue)
            .ShouldBe("""{"timestampValue":"2025-01-31T12:00:00.123456Z"}""");
    }

    private static EveryType Sample(FirestoreReference owner) => new()
    {
        Nothing = null,
        Flag = true,
        BigCount = long.MaxValue,
        SmallCount = -42,
        Ratio = 0.125,
        NotANumber = double.NaN,
        MaybeRatio = null,
        At = SampleTime,
        AtUtc = SampleTime.UtcDateTime,
        Text = "héllo ✓",
        Blob = [0, 1, 2, 255],
        Memory = new byte[] { 9, 8, 7 },
        Owner = owner,
        Location = new GeoPoint(52.52, 13.405),
        Tags = ["a", "b"],
        Numbers = [1, -2, 3],
        Limits = new() { ["rpm"] = 30, ["daily"] = 1000 },
        Inner = new Nested("inner", SampleTime, new() { ["k"] = "v" }),
        Items = [new Nested("item", SampleTime, [])],
        Plan = Plan.Guru,
    };
}
