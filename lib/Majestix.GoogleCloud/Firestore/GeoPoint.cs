using System.Text.Json;
using System.Text.Json.Serialization;

namespace Majestix.GoogleCloud.Firestore;

/// <summary>A latitude/longitude pair, stored as a Firestore <c>geoPointValue</c>.</summary>
/// <param name="Latitude">Degrees, -90 to 90.</param>
/// <param name="Longitude">Degrees, -180 to 180.</param>
[JsonConverter(typeof(GeoPointJsonConverter))]
public readonly record struct GeoPoint(double Latitude, double Longitude);

// Fixed member names keep the JSON bridge used by typed mapping independent of the caller's naming policy.
internal sealed class GeoPointJsonConverter : JsonConverter<GeoPoint>
{
    public override GeoPoint Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("A geo point must be a JSON object.");
        }

        double latitude = 0, longitude = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var name = reader.GetString();
            reader.Read();
            switch (name)
            {
                case "latitude":
                    latitude = reader.GetDouble();
                    break;
                case "longitude":
                    longitude = reader.GetDouble();
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        return new GeoPoint(latitude, longitude);
    }

    public override void Write(Utf8JsonWriter writer, GeoPoint value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteNumber("latitude", value.Latitude);
        writer.WriteNumber("longitude", value.Longitude);
        writer.WriteEndObject();
    }
}
