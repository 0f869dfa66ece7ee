using System.Buffers;
using System.Collections;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Majestix.GoogleCloud.Firestore;

/// <summary>
/// Maps C# types to Firestore values and back using source-generated <see cref="JsonTypeInfo"/> metadata
/// (no reflection). Property names follow the context's naming policy and <c>[JsonPropertyName]</c>.
/// </summary>
/// <remarks>
/// Writing walks the type's properties so that timestamps, bytes, references and geo points keep
/// their Firestore types. Reading renders the values as JSON and lets the same context deserialize
/// it, so contexts should set <c>UseStringEnumConverter</c> (enums are stored as strings) and
/// <c>NumberHandling = AllowNamedFloatingPointLiterals</c> when NaN or infinities can occur.
/// </remarks>
public static class FirestoreMapper
{
    /// <summary>Converts an object to document fields; <typeparamref name="T"/> must map to a JSON object.</summary>
    public static Dictionary<string, FirestoreValue> ToFields<T>(T value, JsonTypeInfo<T> typeInfo)
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(typeInfo);
        var mapped = ToValue(value, typeInfo);
        if (mapped.Kind != FirestoreValueKind.Map)
        {
            throw new ArgumentException($"{typeof(T).Name} maps to a Firestore {mapped.Kind}, not to a document.", nameof(value));
        }

        return new Dictionary<string, FirestoreValue>(mapped.MapValue, StringComparer.Ordinal);
    }

    /// <summary>Converts any value whose type the context knows.</summary>
    public static FirestoreValue ToValue(object? value, JsonTypeInfo typeInfo)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        return value switch
        {
            null => FirestoreValue.Null,
            FirestoreValue firestoreValue => firestoreValue,
            bool boolean => FirestoreValue.FromBoolean(boolean),
            string text => FirestoreValue.FromString(text),
            char character => FirestoreValue.FromString(character.ToString()),
            sbyte or byte or short or ushort or int or uint or long => FirestoreValue.FromInteger(Convert.ToInt64(value, CultureInfo.InvariantCulture)),
            ulong unsigned => FirestoreValue.FromInteger(checked((long)unsigned)),
            float single => FirestoreValue.FromDouble(single),
            double number => FirestoreValue.FromDouble(number),
            decimal money => FirestoreValue.FromDouble((double)money),
            DateTimeOffset timestamp => FirestoreValue.FromTimestamp(timestamp),
            DateTime dateTime => FirestoreValue.FromTimestamp(dateTime.Kind == DateTimeKind.Unspecified
                ? new DateTimeOffset(dateTime, TimeSpan.Zero)
                : new DateTimeOffset(dateTime.ToUniversalTime())),
            byte[] bytes => FirestoreValue.FromBytes(bytes),
            ReadOnlyMemory<byte> bytes => FirestoreValue.FromBytes(bytes.Span),
            Memory<byte> bytes => FirestoreValue.FromBytes(bytes.Span),
            FirestoreReference reference => FirestoreValue.FromReference(reference),
            GeoPoint point => FirestoreValue.FromGeoPoint(point),
            _ => ToStructuredValue(value, typeInfo),
        };
    }

    /// <summary>Converts document fields back to <typeparamref name="T"/>.</summary>
    public static T FromFields<T>(IReadOnlyDictionary<string, FirestoreValue> fields, JsonTypeInfo<T> typeInfo)
    {
        ArgumentNullException.ThrowIfNull(fields);
        ArgumentNullException.ThrowIfNull(typeInfo);
        return FromValue(FirestoreValue.FromMap(fields), typeInfo);
    }

    /// <summary>Converts one Firestore value back to <typeparamref name="T"/>.</summary>
    public static T FromValue<T>(FirestoreValue value, JsonTypeInfo<T> typeInfo)
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(typeInfo);
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WriteAsPlainJson(writer, value);
        }

        return JsonSerializer.Deserialize(buffer.WrittenSpan, typeInfo)!;
    }

    private static FirestoreValue ToStructuredValue(object value, JsonTypeInfo declared)
    {
        // Properties typed as object or an interface carry the runtime type's metadata, when the context has it.
        var typeInfo = declared.Type == value.GetType() || !declared.Options.TryGetTypeInfo(value.GetType(), out var runtime)
            ? declared
            : runtime;

        switch (typeInfo.Kind)
        {
            case JsonTypeInfoKind.Object when typeInfo.Properties.Count > 0:
                return FirestoreValue.FromMap(ObjectFields(value, typeInfo));
            case JsonTypeInfoKind.Dictionary when value is IDictionary dictionary:
                var valueTypeInfo = typeInfo.Options.GetTypeInfo(typeInfo.ElementType!);
                var entries = new Dictionary<string, FirestoreValue>(StringComparer.Ordinal);
                foreach (DictionaryEntry entry in dictionary)
                {
                    entries[Convert.ToString(entry.Key, CultureInfo.InvariantCulture)!] = ToValue(entry.Value, valueTypeInfo);
                }

                return FirestoreValue.FromMap(entries);
            case JsonTypeInfoKind.Enumerable when value is IEnumerable sequence:
                var elementTypeInfo = typeInfo.Options.GetTypeInfo(typeInfo.ElementType!);
                var elements = new List<FirestoreValue>();
                foreach (var element in sequence)
                {
                    elements.Add(ToValue(element, elementTypeInfo));
                }

                return FirestoreValue.FromArray(elements);
            default:
                // Enums, Guid, DateOnly, custom converters: whatever JSON the context writes.
                using (var json = JsonSerializer.SerializeToDocument(value, typeInfo))
                {
                    return FromJson(json.RootElement);
                }
        }
    }

    private static Dictionary<string, FirestoreValue> ObjectFields(object value, JsonTypeInfo typeInfo)
    {
        var fields = new Dictionary<string, FirestoreValue>(StringComparer.Ordinal);
        var skipNulls = typeInfo.Options.DefaultIgnoreCondition is
            System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull or
            System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault;
        foreach (var property in typeInfo.Properties)
        {
            if (property.Get is null)
            {
                continue;
            }

            var propertyValue = property.Get(value);
            if ((property.ShouldSerialize is { } shouldSerialize && !shouldSerialize(value, propertyValue))
                || (propertyValue is null && skipNulls))
            {
                continue;
            }

            var propertyType = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            fields[property.Name] = ToValue(propertyValue, typeInfo.Options.GetTypeInfo(propertyType));
        }

        return fields;
    }

    private static FirestoreValue FromJson(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined => FirestoreValue.Null,
        JsonValueKind.True => FirestoreValue.FromBoolean(true),
        JsonValueKind.False => FirestoreValue.FromBoolean(false),
        JsonValueKind.String => FirestoreValue.FromString(element.GetString()!),
        JsonValueKind.Number when element.TryGetInt64(out var integer) => FirestoreValue.FromInteger(integer),
        JsonValueKind.Number => FirestoreValue.FromDouble(element.GetDouble()),
        JsonValueKind.Array => FirestoreValue.FromArray(element.EnumerateArray().Select(FromJson)),
        JsonValueKind.Object => FirestoreValue.FromMap(element.EnumerateObject()
            .Select(property => KeyValuePair.Create(property.Name, FromJson(property.Value)))),
        _ => throw new JsonException($"Unsupported JSON value kind {element.ValueKind}."),
    };

    private static void WriteAsPlainJson(Utf8JsonWriter writer, FirestoreValue value)
    {
        switch (value.Kind)
        {
            case FirestoreValueKind.Null:
                writer.WriteNullValue();
                break;
            case FirestoreValueKind.Boolean:
                writer.WriteBooleanValue(value.BooleanValue);
                break;
            case FirestoreValueKind.Integer:
                writer.WriteNumberValue(value.IntegerValue);
                break;
            case FirestoreValueKind.Double:
                var number = value.DoubleValue;
                if (double.IsFinite(number))
                {
                    writer.WriteNumberValue(number);
                }
                else
                {
                    writer.WriteStringValue(double.IsNaN(number) ? "NaN" : number > 0 ? "Infinity" : "-Infinity");
                }

                break;
            case FirestoreValueKind.Timestamp:
                // UTC with "Z", so DateTime properties come back with DateTimeKind.Utc.
                writer.WriteStringValue(value.TimestampValue.UtcDateTime);
                break;
            case FirestoreValueKind.String:
                writer.WriteStringValue(value.StringValue);
                break;
            case FirestoreValueKind.Bytes:
                writer.WriteBase64StringValue(value.BytesValue.Span);
                break;
            case FirestoreValueKind.Reference:
                writer.WriteStringValue(value.ReferenceValue.Name);
                break;
            case FirestoreValueKind.GeoPoint:
                writer.WriteStartObject();
                writer.WriteNumber("latitude", value.GeoPointValue.Latitude);
                writer.WriteNumber("longitude", value.GeoPointValue.Longitude);
                writer.WriteEndObject();
                break;
            case FirestoreValueKind.Array:
                writer.WriteStartArray();
                foreach (var element in value.ArrayValue)
                {
                    WriteAsPlainJson(writer, element);
                }

                writer.WriteEndArray();
                break;
            case FirestoreValueKind.Map:
                writer.WriteStartObject();
                foreach (var (name, field) in value.MapValue)
                {
                    writer.WritePropertyName(name);
                    WriteAsPlainJson(writer, field);
                }

                writer.WriteEndObject();
                break;
            default:
                throw new JsonException($"Unsupported Firestore value kind {value.Kind}.");
        }
    }
}
