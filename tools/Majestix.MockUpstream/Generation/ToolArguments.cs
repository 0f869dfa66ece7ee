using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Majestix.MockUpstream.Generation;

// Builds compact JSON arguments that satisfy the tool's JSON schema well enough for an agent loop
// to parse them: required (else all) properties, enum/const honoured, vocabulary words as strings.
internal static class ToolArguments
{
    private const int MaxDepth = 4;
    private const int MaxProperties = 8;

    public static string Generate(JsonElement? schema, ref SplitMix64 random)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            if (schema is { ValueKind: JsonValueKind.Object } s && TypeOf(s) == "object")
            {
                WriteValue(writer, s, ref random, 0);
            }
            else
            {
                writer.WriteStartObject();
                writer.WriteString("input", Words(ref random, 3));
                writer.WriteEndObject();
            }
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteValue(Utf8JsonWriter writer, JsonElement schema, ref SplitMix64 random, int depth)
    {
        if (schema.ValueKind != JsonValueKind.Object)
        {
            writer.WriteStringValue(Words(ref random, 2));
            return;
        }
        if (schema.TryGetProperty("const", out var constant))
        {
            constant.WriteTo(writer);
            return;
        }
        if (schema.TryGetProperty("enum", out var values) && values.ValueKind == JsonValueKind.Array && values.GetArrayLength() > 0)
        {
            values[random.Next(values.GetArrayLength())].WriteTo(writer);
            return;
        }
        if (depth >= MaxDepth)
        {
            writer.WriteNullValue();
            return;
        }
        switch (TypeOf(schema))
        {
            case "object":
                writer.WriteStartObject();
                foreach (var (name, property) in PropertiesToFill(schema))
                {
                    writer.WritePropertyName(name);
                    WriteValue(writer, property, ref random, depth + 1);
                }
                writer.WriteEndObject();
                break;
            case "array":
                writer.WriteStartArray();
                if (schema.TryGetProperty("items", out var items))
                {
                    WriteValue(writer, items, ref random, depth + 1);
                }
                writer.WriteEndArray();
                break;
            case "integer":
                writer.WriteNumberValue(random.Next(100));
                break;
            case "number":
                writer.WriteNumberValue(random.Next(1000) / 10.0);
                break;
            case "boolean":
                writer.WriteBooleanValue(random.Next(2) == 1);
                break;
            case "null":
                writer.WriteNullValue();
                break;
            default:
                writer.WriteStringValue(Words(ref random, 2));
                break;
        }
    }

    private static List<(string Name, JsonElement Schema)> PropertiesToFill(JsonElement schema)
    {
        var result = new List<(string, JsonElement)>();
        if (!schema.TryGetProperty("properties", out var properties) || properties.ValueKind != JsonValueKind.Object)
        {
            return result;
        }
        var required = new HashSet<string>(StringComparer.Ordinal);
        if (schema.TryGetProperty("required", out var req) && req.ValueKind == JsonValueKind.Array)
        {
            foreach (var name in req.EnumerateArray())
            {
                if (name.GetString() is { } n)
                {
                    required.Add(n);
                }
            }
        }
        foreach (var property in properties.EnumerateObject())
        {
            if ((required.Count == 0 || required.Contains(property.Name)) && result.Count < MaxProperties)
            {
                result.Add((property.Name, property.Value));
            }
        }
        return result;
    }

    private static string? TypeOf(JsonElement schema)
    {
        if (!schema.TryGetProperty("type", out var type))
        {
            return schema.TryGetProperty("properties", out _) ? "object" : null;
        }
        if (type.ValueKind == JsonValueKind.String)
        {
            return type.GetString();
        }
        if (type.ValueKind == JsonValueKind.Array)
        {
            foreach (var t in type.EnumerateArray())
            {
                if (t.GetString() is { } name && name != "null")
                {
                    return name;
                }
            }
        }
        return null;
    }

    private static string Words(ref SplitMix64 random, int count)
    {
        var builder = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            if (i > 0)
            {
                builder.Append(' ');
            }
            builder.Append(Vocabulary.Words[random.Next(Vocabulary.Words.Length)]);
        }
        return builder.ToString();
    }
}
