namespace Majestix.GoogleCloud.Firestore;

/// <summary>A server-side change to one field, applied atomically with the write that carries it.</summary>
public sealed class FirestoreFieldTransform
{
    private readonly Func<string, FieldTransformWire> _toWire;

    private FirestoreFieldTransform(string fieldPath, Func<string, FieldTransformWire> toWire)
    {
        ArgumentException.ThrowIfNullOrEmpty(fieldPath);
        FieldPath = fieldPath;
        _toWire = toWire;
    }

    /// <summary>The (dotted, escaped) field path the transform applies to.</summary>
    public string FieldPath { get; }

    /// <summary>Adds <paramref name="delta"/>; a missing or non-numeric field becomes <paramref name="delta"/>.</summary>
    public static FirestoreFieldTransform Increment(string fieldPath, long delta) =>
        new(fieldPath, path => new FieldTransformWire { FieldPath = path, Increment = FirestoreValue.FromInteger(delta) });

    /// <summary>Adds <paramref name="delta"/> as a double.</summary>
    public static FirestoreFieldTransform Increment(string fieldPath, double delta) =>
        new(fieldPath, path => new FieldTransformWire { FieldPath = path, Increment = FirestoreValue.FromDouble(delta) });

    /// <summary>Sets the field to the larger of its value and <paramref name="value"/>.</summary>
    public static FirestoreFieldTransform Maximum(string fieldPath, FirestoreValue value) =>
        new(fieldPath, path => new FieldTransformWire { FieldPath = path, Maximum = value });

    /// <summary>Sets the field to the smaller of its value and <paramref name="value"/>.</summary>
    public static FirestoreFieldTransform Minimum(string fieldPath, FirestoreValue value) =>
        new(fieldPath, path => new FieldTransformWire { FieldPath = path, Minimum = value });

    /// <summary>Sets the field to the server's commit time (millisecond precision).</summary>
    public static FirestoreFieldTransform ServerTimestamp(string fieldPath) =>
        new(fieldPath, path => new FieldTransformWire { FieldPath = path, SetToServerValue = "REQUEST_TIME" });

    /// <summary>Appends the elements not already present in the array.</summary>
    public static FirestoreFieldTransform AppendMissingElements(string fieldPath, params FirestoreValue[] elements) =>
        new(fieldPath, path => new FieldTransformWire { FieldPath = path, AppendMissingElements = new ArrayValueWire { Values = [.. elements] } });

    /// <summary>Removes every occurrence of the elements from the array.</summary>
    public static FirestoreFieldTransform RemoveAllFromArray(string fieldPath, params FirestoreValue[] elements) =>
        new(fieldPath, path => new FieldTransformWire { FieldPath = path, RemoveAllFromArray = new ArrayValueWire { Values = [.. elements] } });

    internal FieldTransformWire ToWire() => _toWire(FieldPath);
}
