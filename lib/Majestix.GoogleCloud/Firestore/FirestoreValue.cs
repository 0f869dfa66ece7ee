using System.Globalization;
using System.Text.Json.Serialization;

namespace Majestix.GoogleCloud.Firestore;

/// <summary>
/// One Firestore value: the low-level document model for code that works without a C# record.
/// Values are immutable and compare by content.
/// </summary>
[JsonConverter(typeof(FirestoreValueJsonConverter))]
public sealed class FirestoreValue : IEquatable<FirestoreValue>
{
    private readonly object? _payload;

    private FirestoreValue(FirestoreValueKind kind, object? payload)
    {
        Kind = kind;
        _payload = payload;
    }

    /// <summary>Which member of the oneof this value holds.</summary>
    public FirestoreValueKind Kind { get; }

    /// <summary>The null value.</summary>
    public static FirestoreValue Null { get; } = new(FirestoreValueKind.Null, null);

    /// <summary>A <c>booleanValue</c>.</summary>
    public static FirestoreValue FromBoolean(bool value) => new(FirestoreValueKind.Boolean, value);

    /// <summary>An <c>integerValue</c>.</summary>
    public static FirestoreValue FromInteger(long value) => new(FirestoreValueKind.Integer, value);

    /// <summary>A <c>doubleValue</c> (NaN and infinities included).</summary>
    public static FirestoreValue FromDouble(double value) => new(FirestoreValueKind.Double, value);

    /// <summary>A <c>timestampValue</c>; precision beyond microseconds is dropped by the server.</summary>
    public static FirestoreValue FromTimestamp(DateTimeOffset value) => new(FirestoreValueKind.Timestamp, value.ToUniversalTime());

    /// <summary>A <c>stringValue</c>.</summary>
    public static FirestoreValue FromString(string value) =>
        new(FirestoreValueKind.String, value ?? throw new ArgumentNullException(nameof(value)));

    /// <summary>A <c>bytesValue</c> (the bytes are copied).</summary>
    public static FirestoreValue FromBytes(ReadOnlySpan<byte> value) => new(FirestoreValueKind.Bytes, value.ToArray());

    /// <summary>A <c>referenceValue</c>.</summary>
    public static FirestoreValue FromReference(FirestoreReference value) =>
        new(FirestoreValueKind.Reference, value ?? throw new ArgumentNullException(nameof(value)));

    /// <summary>A <c>geoPointValue</c>.</summary>
    public static FirestoreValue FromGeoPoint(GeoPoint value) => new(FirestoreValueKind.GeoPoint, value);

    /// <summary>An <c>arrayValue</c>.</summary>
    public static FirestoreValue FromArray(IEnumerable<FirestoreValue> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return new(FirestoreValueKind.Array, values.ToArray());
    }

    /// <summary>An <c>arrayValue</c>.</summary>
    public static FirestoreValue FromArray(params FirestoreValue[] values) => FromArray((IEnumerable<FirestoreValue>)values);

    /// <summary>A <c>mapValue</c>.</summary>
    public static FirestoreValue FromMap(IEnumerable<KeyValuePair<string, FirestoreValue>> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        return new(FirestoreValueKind.Map, new Dictionary<string, FirestoreValue>(fields, StringComparer.Ordinal));
    }

    /// <summary>The boolean; throws unless <see cref="Kind"/> is Boolean.</summary>
    public bool BooleanValue => Get<bool>(FirestoreValueKind.Boolean);

    /// <summary>The integer; throws unless <see cref="Kind"/> is Integer.</summary>
    public long IntegerValue => Get<long>(FirestoreValueKind.Integer);

    /// <summary>The double; throws unless <see cref="Kind"/> is Double.</summary>
    public double DoubleValue => Get<double>(FirestoreValueKind.Double);

    /// <summary>The timestamp (UTC); throws unless <see cref="Kind"/> is Timestamp.</summary>
    public DateTimeOffset TimestampValue => Get<DateTimeOffset>(FirestoreValueKind.Timestamp);

    /// <summary>The string; throws unless <see cref="Kind"/> is String.</summary>
    public string StringValue => Get<string>(FirestoreValueKind.String);

    /// <summary>The bytes; throws unless <see cref="Kind"/> is Bytes.</summary>
    public ReadOnlyMemory<byte> BytesValue => Get<byte[]>(FirestoreValueKind.Bytes);

    /// <summary>The reference; throws unless <see cref="Kind"/> is Reference.</summary>
    public FirestoreReference ReferenceValue => Get<FirestoreReference>(FirestoreValueKind.Reference);

    /// <summary>The geo point; throws unless <see cref="Kind"/> is GeoPoint.</summary>
    public GeoPoint GeoPointValue => Get<GeoPoint>(FirestoreValueKind.GeoPoint);

    /// <summary>The elements; throws unless <see cref="Kind"/> is Array.</summary>
    public IReadOnlyList<FirestoreValue> ArrayValue => Get<FirestoreValue[]>(FirestoreValueKind.Array);

    /// <summary>The fields; throws unless <see cref="Kind"/> is Map.</summary>
    public IReadOnlyDictionary<string, FirestoreValue> MapValue => Get<Dictionary<string, FirestoreValue>>(FirestoreValueKind.Map);

    /// <summary>The number as a double for Integer or Double values (increments may yield either).</summary>
    public double AsNumber() => Kind switch
    {
        FirestoreValueKind.Integer => IntegerValue,
        FirestoreValueKind.Double => DoubleValue,
        _ => throw new InvalidOperationException($"A {Kind} value is not a number."),
    };

    /// <summary>Converts a string.</summary>
    public static implicit operator FirestoreValue(string value) => FromString(value);

    /// <summary>Converts an integer.</summary>
    public static implicit operator FirestoreValue(long value) => FromInteger(value);

    /// <summary>Converts a double.</summary>
    public static implicit operator FirestoreValue(double value) => FromDouble(value);

    /// <summary>Converts a boolean.</summary>
    public static implicit operator FirestoreValue(bool value) => FromBoolean(value);

    /// <summary>Converts a timestamp.</summary>
    public static implicit operator FirestoreValue(DateTimeOffset value) => FromTimestamp(value);

    /// <summary>Converts a reference.</summary>
    public static implicit operator FirestoreValue(FirestoreReference value) => FromReference(value);

    /// <summary>Converts a geo point.</summary>
    public static implicit operator FirestoreValue(GeoPoint value) => FromGeoPoint(value);

    /// <inheritdoc />
    public bool Equals(FirestoreValue? other)
    {
        if (other is null || other.Kind != Kind)
        {
            return false;
        }

        return Kind switch
        {
            FirestoreValueKind.Null => true,
            FirestoreValueKind.Bytes => ((byte[])_payload!).AsSpan().SequenceEqual((byte[])other._payload!),
            FirestoreValueKind.Array => ((FirestoreValue[])_payload!).SequenceEqual((FirestoreValue[])other._payload!),
            FirestoreValueKind.Map => MapsEqual((Dictionary<string, FirestoreValue>)_payload!, (Dictionary<string, FirestoreValue>)other._payload!),
            _ => _payload!.Equals(other._payload),
        };
    }

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as FirestoreValue);

    /// <inheritdoc />
    public override int GetHashCode() => Kind switch
    {
        FirestoreValueKind.Null => 0,
        FirestoreValueKind.Bytes => HashCode.Combine(Kind, ((byte[])_payload!).Length),
        FirestoreValueKind.Array => HashCode.Combine(Kind, ((FirestoreValue[])_payload!).Length),
        FirestoreValueKind.Map => HashCode.Combine(Kind, ((Dictionary<string, FirestoreValue>)_payload!).Count),
        _ => HashCode.Combine(Kind, _payload),
    };

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        FirestoreValueKind.Null => "null",
        FirestoreValueKind.Timestamp => GoogleTimestamp.Format(TimestampValue),
        FirestoreValueKind.Bytes => Convert.ToBase64String((byte[])_payload!),
        FirestoreValueKind.Array => $"[{string.Join(", ", ArrayValue)}]",
        FirestoreValueKind.Map => $"{{{string.Join(", ", MapValue.Select(f => $"{f.Key}: {f.Value}"))}}}",
        FirestoreValueKind.String => $"\"{StringValue}\"",
        _ => Convert.ToString(_payload, CultureInfo.InvariantCulture) ?? string.Empty,
    };

    private T Get<T>(FirestoreValueKind expected) =>
        Kind == expected ? (T)_payload! : throw new InvalidOperationException($"The value is {Kind}, not {expected}.");

    private static bool MapsEqual(Dictionary<string, FirestoreValue> left, Dictionary<string, FirestoreValue> right) =>
        left.Count == right.Count && left.All(field => right.TryGetValue(field.Key, out var other) && field.Value.Equals(other));
}
