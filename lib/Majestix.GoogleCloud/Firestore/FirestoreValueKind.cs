using System.Diagnostics.CodeAnalysis;

namespace Majestix.GoogleCloud.Firestore;

/// <summary>The Firestore value types (the members of the <c>Value</c> oneof).</summary>
[SuppressMessage("Naming", "CA1720:Identifier contains type name", Justification = "The members name Firestore's value types.")]
public enum FirestoreValueKind
{
    /// <summary><c>nullValue</c>.</summary>
    Null,

    /// <summary><c>booleanValue</c>.</summary>
    Boolean,

    /// <summary><c>integerValue</c> (int64).</summary>
    Integer,

    /// <summary><c>doubleValue</c>.</summary>
    Double,

    /// <summary><c>timestampValue</c> (microsecond precision).</summary>
    Timestamp,

    /// <summary><c>stringValue</c>.</summary>
    String,

    /// <summary><c>bytesValue</c>.</summary>
    Bytes,

    /// <summary><c>referenceValue</c> (a document resource name).</summary>
    Reference,

    /// <summary><c>geoPointValue</c>.</summary>
    GeoPoint,

    /// <summary><c>arrayValue</c>.</summary>
    Array,

    /// <summary><c>mapValue</c>.</summary>
    Map,
}
