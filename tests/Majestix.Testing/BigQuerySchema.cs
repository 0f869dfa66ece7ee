using System.Globalization;
using System.Text.Json;

namespace Majestix.Testing;

/// <summary>
/// A BigQuery table schema (the JSON files under infra/schemas) used to check published events the
/// way a BigQuery subscription with <c>useTableSchema</c> would: every field known, required fields
/// present, values of the column's type. An event that fails here would land in the dead-letter topic.
/// </summary>
public sealed class BigQuerySchema
{
    private readonly Dictionary<string, Field> _fields;

    private BigQuerySchema(Dictionary<string, Field> fields) => _fields = fields;

    public IReadOnlyCollection<string> FieldNames => _fields.Keys;

    public static BigQuerySchema Load(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var fields = document.RootElement.EnumerateArray().ToDictionary(
            f => f.GetProperty("name").GetString()!,
            f => new Field(f.GetProperty("type").GetString()!, f.TryGetProperty("mode", out var mode) ? mode.GetString()! : "NULLABLE"));
        return new BigQuerySchema(fields);
    }

    /// <summary>Every reason <paramref name="row"/> would be rejected; empty when it fits.</summary>
    public IReadOnlyList<string> Problems(JsonElement row)
    {
        var problems = new List<string>();
        if (row.ValueKind != JsonValueKind.Object)
        {
            return ["the row is not a JSON object"];
        }
        foreach (var property in row.EnumerateObject())
        {
            if (!_fields.TryGetValue(property.Name, out var field))
            {
                problems.Add($"unknown field '{property.Name}'");
            }
            else if (property.Value.ValueKind != JsonValueKind.Null && !Fits(field.Type, property.Value))
            {
                problems.Add($"'{property.Name}' is not a {field.Type}: {property.Value.GetRawText()}");
            }
        }
        foreach (var (name, field) in _fields.Where(f => f.Value.Mode == "REQUIRED"))
        {
            if (!row.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                problems.Add($"required field '{name}' is missing");
            }
        }
        return problems;
    }

    private static bool Fits(string type, JsonElement value) => type switch
    {
        "STRING" or "JSON" => value.ValueKind == JsonValueKind.String,
        "INT64" or "INTEGER" => value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out _),
        "FLOAT64" or "FLOAT" or "NUMERIC" or "BIGNUMERIC" => value.ValueKind == JsonValueKind.Number,
        "BOOL" or "BOOLEAN" => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "TIMESTAMP" => value.ValueKind == JsonValueKind.String
            && DateTimeOffset.TryParseExact(value.GetString(), ["yyyy-MM-dd'T'HH:mm:ss'Z'", "yyyy-MM-dd'T'HH:mm:ss.FFFFFF'Z'"],
                CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _),
        _ => false,
    };

    private sealed record Field(string Type, string Mode);
}
