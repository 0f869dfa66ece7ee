using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Majestix.GoogleCloud.Firestore;

/// <summary>Reads and writes the REST <c>Value</c> JSON (proto3 mapping: int64 as strings, base64 bytes).</summary>
internal sealed class FirestoreValueJsonConverter : JsonConverter<FirestoreValue>
{
    public override FirestoreValue Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        ReadValue(ref reader);

    public override void Write(Utf8JsonWriter writer, FirestoreValue value, JsonSerializerOptions options) =>
        WriteValue(writer, value);

    internal static FirestoreValue ReadValue(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("A Firestore value must be a JSON object.");
        }

        FirestoreValue? result = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var name = reader.GetString();
            reader.Read();
            result = name switch
            {
                "nullValue" => FirestoreValue.Null,
                "booleanValue" => FirestoreValue.FromBoolean(reader.GetBoolean()),
                "integerValue" => FirestoreValue.FromInteger(reader.TokenType == JsonTokenType.String
                    ? long.Parse(reader.GetString()!, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture)
                    : reader.GetInt64()),
                "doubleValue" => FirestoreValue.FromDouble(ReadDouble(ref reader)),
                "timestampValue" => FirestoreValue.FromTimestamp(GoogleTimestamp.Parse(reader.GetString()!)),
                "stringValue" => FirestoreValue.FromString(reader.GetString()!),
                "bytesValue" => FirestoreValue.FromBytes(reader.GetBytesFromBase64()),
                "referenceValue" => FirestoreValue.FromReference(new FirestoreReference(reader.GetString()!)),
                "geoPointValue" => FirestoreValue.FromGeoPoint(ReadGeoPoint(ref reader)),
                "arrayValue" => FirestoreValue.FromArray(ReadArray(ref reader)),
                "mapValue" => FirestoreValue.FromMap(ReadMapValue(ref reader)),
                _ => SkipUnknown(ref reader, result),
            };
        }

        return result ?? throw new JsonException("A Firestore value must set one of its value fields.");
    }

    internal static Dictionary<string, FirestoreValue> ReadFields(ref Utf8JsonReader reader)
    {
        var fields = new Dictionary<string, FirestoreValue>(StringComparer.Ordinal);
        if (reader.TokenType == JsonTokenType.Null)
        {
            return fields;
        }

        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var name = reader.GetString()!;
            reader.Read();
            fields[name] = ReadValue(ref reader);
        }

        return fields;
    }

    internal static void WriteValue(Utf8JsonWriter writer, FirestoreValue value)
    {
        writer.WriteStartObject();
        switch (value.Kind)
        {
            case FirestoreValueKind.Null:
                writer.WriteString("nullValue", "NULL_VALUE");
                break;
            case FirestoreValueKind.Boolean:
                writer.WriteBoolean("booleanValue", value.BooleanValue);
                break;
            case FirestoreValueKind.Integer:
                writer.WriteString("integerValue", value.IntegerValue.ToString(CultureInfo.InvariantCulture));
                break;
            case FirestoreValueKind.Double:
                WriteDouble(writer, value.DoubleValue);
                break;
            case FirestoreValueKind.Timestamp:
                writer.WriteString("timestampValue", GoogleTimestamp.Format(value.TimestampValue));
                break;
            case FirestoreValueKind.String:
                writer.WriteString("stringValue", value.StringValue);
                break;
            case FirestoreValueKind.Bytes:
                writer.WriteBase64String("bytesValue", value.BytesValue.Span);
                break;
            case FirestoreValueKind.Reference:
                writer.WriteString("referenceValue", value.ReferenceValue.Name);
                break;
            case FirestoreValueKind.GeoPoint:
                writer.WriteStartObject("geoPointValue");
                writer.WriteNumber("latitude", value.GeoPointValue.Latitude);
                writer.WriteNumber("longitude", value.GeoPointValue.Longitude);
                writer.WriteEndObject();
                break;
            case FirestoreValueKind.Array:
                writer.WriteStartObject("arrayValue");
                writer.WriteStartArray("values");
                foreach (var element in value.ArrayValue)
                {
                    WriteValue(writer, element);
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
                break;
            case FirestoreValueKind.Map:
                writer.WriteStartObject("mapValue");
                writer.WritePropertyName("fields");
                WriteFields(writer, value.MapValue);
                writer.WriteEndObject();
                break;
            default:
                throw new JsonException($"Unsupported Firestore value kind {value.Kind}.");
        }

        writer.WriteEndObject();
    }

    internal static void WriteFields(Utf8JsonWriter writer, IReadOnlyDictionary<string, FirestoreValue> fields)
    {
        writer.WriteStartObject();
        foreach (var (name, fieldValue) in fields)
        {
            writer.WritePropertyName(name);
            WriteValue(writer, fieldValue);
        }

        writer.WriteEndObject();
    }

    private static void WriteDouble(Utf8JsonWriter writer, double value)
    {
        if (double.IsNaN(value))
        {
            writer.WriteString("doubleValue", "NaN");
        }
        else if (double.IsPositiveInfinity(value))
        {
            writer.WriteString("doubleValue", "Infinity");
        }
        else if (double.IsNegativeInfinity(value))
        {
            writer.WriteString("doubleValue", "-Infinity");
        }
        else
        {
            writer.WriteNumber("doubleValue", value);
        }
    }

    private static double ReadDouble(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            return reader.GetDouble();
        }

        return reader.GetString() switch
        {
            "NaN" => double.NaN,
            "Infinity" => double.PositiveInfinity,
            "-Infinity" => double.NegativeInfinity,
            var text => double.Parse(text!, NumberStyles.Float, CultureInfo.InvariantCulture),
        };
    }

    private static GeoPoint ReadGeoPoint(ref Utf8JsonReader reader)
    {
        // proto3 omits zero members, so {} is the point (0, 0).
        double latitude = 0, longitude = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var name = reader.GetString();
            reader.Read();
            switch (name)
            {
                case "latitude":
                    latitude = ReadDouble(ref reader);
                    break;
                case "longitude":
                    longitude = ReadDouble(ref reader);
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        return new GeoPoint(latitude, longitude);
    }

    private static List<FirestoreValue> ReadArray(ref Utf8JsonReader reader)
    {
        // An empty array may arrive as {} with no "values" member.
        var values = new List<FirestoreValue>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var name = reader.GetString();
            reader.Read();
            if (name == "values" && reader.TokenType == JsonTokenType.StartArray)
            {
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    values.Add(ReadValue(ref reader));
                }
            }
            else
            {
                reader.Skip();
            }
        }

        return values;
    }

    private static Dictionary<string, FirestoreValue> ReadMapValue(ref Utf8JsonReader reader)
    {
        var fields = new Dictionary<string, FirestoreValue>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var name = reader.GetString();
            reader.Read();
            if (name == "fields" && reader.TokenType == JsonTokenType.StartObject)
            {
                fields = ReadFields(ref reader);
            }
            else
            {
                reader.Skip();
            }
        }

        return fields;
    }

    private static FirestoreValue? SkipUnknown(ref Utf8JsonReader reader, FirestoreValue? current)
    {
        reader.Skip();
        return current;
    }
}
