using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Majestix.InferenceApi;

/// <summary>
/// Timestamps on the wire and in events as RFC 3339 UTC with microseconds (<c>2026-01-31T12:00:00.123456Z</c>):
/// the precision BigQuery and Firestore keep, in the form every client parses.
/// </summary>
internal sealed class UtcTimestampConverter : JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        DateTimeOffset.Parse(reader.GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture));
}
