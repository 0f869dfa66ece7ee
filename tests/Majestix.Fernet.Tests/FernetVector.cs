using System.Text.Json;
using System.Text.Json.Serialization;

namespace Majestix.Fernet.Tests;

internal sealed record FernetVector(
    [property: JsonPropertyName("desc")] string? Desc,
    [property: JsonPropertyName("token")] string Token,
    [property: JsonPropertyName("now")] string Now,
    [property: JsonPropertyName("ttl_sec")] int? TtlSeconds,
    [property: JsonPropertyName("iv")] byte[]? Iv,
    [property: JsonPropertyName("src")] string? Src,
    [property: JsonPropertyName("secret")] string Secret)
{
    private static readonly JsonSerializerOptions Options = new() { Converters = { new ByteListConverter() } };

    public static IReadOnlyList<FernetVector> Load(string file)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "vectors", file);
        return JsonSerializer.Deserialize<List<FernetVector>>(File.ReadAllText(path), Options)
            ?? throw new InvalidOperationException($"{path} is empty.");
    }

    // The vectors write the IV as a JSON array of numbers, not base64.
    private sealed class ByteListConverter : JsonConverter<byte[]>
    {
        public override byte[] Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            [.. JsonSerializer.Deserialize<List<byte>>(ref reader) ?? []];

        public override void Write(Utf8JsonWriter writer, byte[] value, JsonSerializerOptions options) =>
            throw new NotSupportedException();
    }
}
