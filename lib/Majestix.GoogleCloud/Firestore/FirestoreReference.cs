using System.Text.Json;
using System.Text.Json.Serialization;

namespace Majestix.GoogleCloud.Firestore;

/// <summary>
/// A document's full resource name (<c>projects/{p}/databases/{d}/documents/{path}</c>), stored as a
/// Firestore <c>referenceValue</c>.
/// </summary>
[JsonConverter(typeof(FirestoreReferenceJsonConverter))]
public sealed record FirestoreReference
{
    private const string DocumentsSegment = "/documents/";

    /// <summary>Wraps a full document resource name.</summary>
    public FirestoreReference(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var documentsAt = name.IndexOf(DocumentsSegment, StringComparison.Ordinal);
        if (!name.StartsWith("projects/", StringComparison.Ordinal) || documentsAt < 0)
        {
            throw new ArgumentException($"'{name}' is not a Firestore document resource name.", nameof(name));
        }

        var path = name[(documentsAt + DocumentsSegment.Length)..];
        if (path.Length == 0 || path.Split('/').Length % 2 != 0)
        {
            throw new ArgumentException($"'{name}' does not name a document (collection/id pairs).", nameof(name));
        }

        Name = name;
        DatabaseName = name[..documentsAt];
        Path = path;
    }

    /// <summary>Builds the reference for <paramref name="path"/> (<c>users/u1</c>) in a database.</summary>
    public static FirestoreReference Create(string projectId, string databaseId, string path) =>
        new($"projects/{projectId}/databases/{databaseId}/documents/{path.Trim('/')}");

    /// <summary>The full resource name.</summary>
    public string Name { get; }

    /// <summary><c>projects/{p}/databases/{d}</c>.</summary>
    public string DatabaseName { get; }

    /// <summary>The path below <c>documents/</c>, e.g. <c>users/u1</c>.</summary>
    public string Path { get; }

    /// <summary>The document id (the last path segment).</summary>
    public string Id => Path[(Path.LastIndexOf('/') + 1)..];

    /// <inheritdoc />
    public override string ToString() => Name;
}

internal sealed class FirestoreReferenceJsonConverter : JsonConverter<FirestoreReference>
{
    public override FirestoreReference Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        new(reader.GetString() ?? throw new JsonException("A reference must be a string."));

    public override void Write(Utf8JsonWriter writer, FirestoreReference value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.Name);
}
