using System.Text.Json.Serialization.Metadata;

namespace Majestix.GoogleCloud.Firestore;

/// <summary>A stored document: its reference, fields and server timestamps.</summary>
public sealed class FirestoreDocument
{
    /// <summary>Creates a document snapshot.</summary>
    public FirestoreDocument(
        FirestoreReference reference,
        IReadOnlyDictionary<string, FirestoreValue> fields,
        DateTimeOffset createTime,
        DateTimeOffset updateTime)
    {
        Reference = reference ?? throw new ArgumentNullException(nameof(reference));
        Fields = fields ?? throw new ArgumentNullException(nameof(fields));
        CreateTime = createTime;
        UpdateTime = updateTime;
    }

    /// <summary>The document's full name.</summary>
    public FirestoreReference Reference { get; }

    /// <summary>The document id.</summary>
    public string Id => Reference.Id;

    /// <summary>The top-level fields.</summary>
    public IReadOnlyDictionary<string, FirestoreValue> Fields { get; }

    /// <summary>When the document was created.</summary>
    public DateTimeOffset CreateTime { get; }

    /// <summary>When the document last changed; echo it in <see cref="FirestorePrecondition.LastUpdatedAt"/>.</summary>
    public DateTimeOffset UpdateTime { get; }

    /// <summary>Maps the fields to <typeparamref name="T"/>.</summary>
    public T ConvertTo<T>(JsonTypeInfo<T> typeInfo) => FirestoreMapper.FromFields(Fields, typeInfo);

    /// <summary>The value at a dotted field path (nested maps included), or null when absent.</summary>
    public FirestoreValue? GetValue(string fieldPath)
    {
        FirestoreValue? current = FirestoreValue.FromMap(Fields);
        foreach (var segment in FirestoreFieldPath.Split(fieldPath))
        {
            if (current is not { Kind: FirestoreValueKind.Map } || !current.MapValue.TryGetValue(segment, out current))
            {
                return null;
            }
        }

        return current;
    }

    internal static FirestoreDocument FromWire(DocumentWire wire) => new(
        new FirestoreReference(wire.Name ?? throw new InvalidOperationException("The document has no name.")),
        wire.Fields ?? new Dictionary<string, FirestoreValue>(StringComparer.Ordinal),
        GoogleTimestamp.ParseOptional(wire.CreateTime) ?? default,
        GoogleTimestamp.ParseOptional(wire.UpdateTime) ?? default);
}
