namespace Majestix.GoogleCloud.Firestore;

/// <summary>Comparison operators for field filters.</summary>
public enum FirestoreFilterOperator
{
    /// <summary><c>LESS_THAN</c>.</summary>
    LessThan,

    /// <summary><c>LESS_THAN_OR_EQUAL</c>.</summary>
    LessThanOrEqual,

    /// <summary><c>GREATER_THAN</c>.</summary>
    GreaterThan,

    /// <summary><c>GREATER_THAN_OR_EQUAL</c>.</summary>
    GreaterThanOrEqual,

    /// <summary><c>EQUAL</c>.</summary>
    Equal,

    /// <summary><c>NOT_EQUAL</c>.</summary>
    NotEqual,

    /// <summary><c>ARRAY_CONTAINS</c>.</summary>
    ArrayContains,

    /// <summary><c>IN</c>: the value must be an array.</summary>
    In,

    /// <summary><c>ARRAY_CONTAINS_ANY</c>: the value must be an array.</summary>
    ArrayContainsAny,

    /// <summary><c>NOT_IN</c>: the value must be an array.</summary>
    NotIn,
}

/// <summary>Operators for filters that take no value.</summary>
public enum FirestoreUnaryOperator
{
    /// <summary><c>IS_NULL</c>.</summary>
    IsNull,

    /// <summary><c>IS_NOT_NULL</c>.</summary>
    IsNotNull,

    /// <summary><c>IS_NAN</c>.</summary>
    IsNaN,

    /// <summary><c>IS_NOT_NAN</c>.</summary>
    IsNotNaN,
}

/// <summary>
/// An immutable structured query over one collection (or a collection group). Every builder
/// method returns a new query; filters combine with AND.
/// </summary>
public sealed record FirestoreQuery
{
    internal FirestoreQuery(FirestoreClient client, string parentPath, string collectionId, bool allDescendants)
    {
        Client = client;
        ParentPath = parentPath;
        CollectionId = collectionId;
        AllDescendants = allDescendants;
    }

    /// <summary>The parent document path ("" for top-level collections).</summary>
    public string ParentPath { get; }

    /// <summary>The collection id queried.</summary>
    public string CollectionId { get; }

    /// <summary>Whether every collection with this id below the parent is queried.</summary>
    public bool AllDescendants { get; }

    internal FirestoreClient Client { get; }

    private IReadOnlyList<FilterWire> Filters { get; init; } = [];

    private IReadOnlyList<OrderWire> Orders { get; init; } = [];

    private CursorWire? Start { get; init; }

    private CursorWire? End { get; init; }

    private int? LimitValue { get; init; }

    private int? OffsetValue { get; init; }

    /// <summary>Adds a field comparison.</summary>
    public FirestoreQuery Where(string fieldPath, FirestoreFilterOperator op, FirestoreValue value)
    {
        ArgumentException.ThrowIfNullOrEmpty(fieldPath);
        ArgumentNullException.ThrowIfNull(value);
        var filter = new FilterWire
        {
            FieldFilter = new FieldFilterWire { Field = new() { FieldPath = fieldPath }, Op = OperatorName(op), Value = value },
        };
        return this with { Filters = [.. Filters, filter] };
    }

    /// <summary>Adds a null/NaN test.</summary>
    public FirestoreQuery Where(string fieldPath, FirestoreUnaryOperator op)
    {
        ArgumentException.ThrowIfNullOrEmpty(fieldPath);
        var name = op switch
        {
            FirestoreUnaryOperator.IsNull => "IS_NULL",
            FirestoreUnaryOperator.IsNotNull => "IS_NOT_NULL",
            FirestoreUnaryOperator.IsNaN => "IS_NAN",
            FirestoreUnaryOperator.IsNotNaN => "IS_NOT_NAN",
            _ => throw new ArgumentOutOfRangeException(nameof(op)),
        };
        var filter = new FilterWire { UnaryFilter = new UnaryFilterWire { Op = name, Field = new() { FieldPath = fieldPath } } };
        return this with { Filters = [.. Filters, filter] };
    }

    /// <summary>Adds an ascending sort key.</summary>
    public FirestoreQuery OrderBy(string fieldPath) => AddOrder(fieldPath, "ASCENDING");

    /// <summary>Adds a descending sort key.</summary>
    public FirestoreQuery OrderByDescending(string fieldPath) => AddOrder(fieldPath, "DESCENDING");

    /// <summary>Returns at most <paramref name="count"/> documents.</summary>
    public FirestoreQuery Limit(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return this with { LimitValue = count };
    }

    /// <summary>Skips documents (they are still scanned and billed; prefer cursors for paging).</summary>
    public FirestoreQuery Offset(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return this with { OffsetValue = count };
    }

    /// <summary>Starts at the given sort values (inclusive); values match the order-by fields in order.</summary>
    public FirestoreQuery StartAt(params FirestoreValue[] values) => this with { Start = Cursor(values, before: true) };

    /// <summary>Starts after the given sort values (exclusive).</summary>
    public FirestoreQuery StartAfter(params FirestoreValue[] values) => this with { Start = Cursor(values, before: false) };

    /// <summary>Ends at the given sort values (inclusive).</summary>
    public FirestoreQuery EndAt(params FirestoreValue[] values) => this with { End = Cursor(values, before: false) };

    /// <summary>Ends before the given sort values (exclusive).</summary>
    public FirestoreQuery EndBefore(params FirestoreValue[] values) => this with { End = Cursor(values, before: true) };

    /// <summary>
    /// Starts after <paramref name="document"/>: the cursor holds its values for the explicit
    /// order-by fields plus its name, so paging is stable when sort values repeat.
    /// </summary>
    public FirestoreQuery StartAfter(FirestoreDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        var query = this;
        if (!Orders.Any(order => order.Field.FieldPath == FirestoreFieldPath.DocumentId))
        {
            // The name tie-breaker must be an explicit sort key for the cursor to carry it
            // (the emulator rejects cursors longer than the explicit ordering).
            var direction = Orders.Count > 0 ? Orders[^1].Direction : "ASCENDING";
            query = AddOrder(FirestoreFieldPath.DocumentId, direction);
        }

        var values = Orders
            .Where(order => order.Field.FieldPath != FirestoreFieldPath.DocumentId)
            .Select(order => document.GetValue(order.Field.FieldPath)
                ?? throw new ArgumentException($"The document has no value for order-by field '{order.Field.FieldPath}'.", nameof(document)))
            .Append(FirestoreValue.FromReference(document.Reference))
            .ToArray();
        return query with { Start = Cursor(values, before: false) };
    }

    /// <summary>Runs the query.</summary>
    public Task<IReadOnlyList<FirestoreDocument>> GetAsync(CancellationToken cancellationToken = default) =>
        Client.RunQueryAsync(this, transaction: null, cancellationToken);

    /// <summary>Counts the documents the query matches, on the server: no document is sent (billed one read per 1,000 index entries).</summary>
    public Task<long> CountAsync(CancellationToken cancellationToken = default) =>
        Client.RunCountQueryAsync(this, cancellationToken);

    internal StructuredQueryWire ToWire() => new()
    {
        From = [new CollectionSelectorWire { CollectionId = CollectionId, AllDescendants = AllDescendants ? true : null }],
        Where = Filters.Count switch
        {
            0 => null,
            1 => Filters[0],
            _ => new FilterWire { CompositeFilter = new CompositeFilterWire { Op = "AND", Filters = [.. Filters] } },
        },
        OrderBy = Orders.Count == 0 ? null : [.. Orders],
        StartAt = Start,
        EndAt = End,
        Limit = LimitValue,
        Offset = OffsetValue,
    };

    private FirestoreQuery AddOrder(string fieldPath, string direction)
    {
        ArgumentException.ThrowIfNullOrEmpty(fieldPath);
        return this with { Orders = [.. Orders, new OrderWire { Field = new() { FieldPath = fieldPath }, Direction = direction }] };
    }

    private static CursorWire Cursor(FirestoreValue[] values, bool before)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length == 0)
        {
            throw new ArgumentException("A cursor needs at least one value.", nameof(values));
        }

        return new CursorWire { Values = [.. values], Before = before };
    }

    private static string OperatorName(FirestoreFilterOperator op) => op switch
    {
        FirestoreFilterOperator.LessThan => "LESS_THAN",
        FirestoreFilterOperator.LessThanOrEqual => "LESS_THAN_OR_EQUAL",
        FirestoreFilterOperator.GreaterThan => "GREATER_THAN",
        FirestoreFilterOperator.GreaterThanOrEqual => "GREATER_THAN_OR_EQUAL",
        FirestoreFilterOperator.Equal => "EQUAL",
        FirestoreFilterOperator.NotEqual => "NOT_EQUAL",
        FirestoreFilterOperator.ArrayContains => "ARRAY_CONTAINS",
        FirestoreFilterOperator.In => "IN",
        FirestoreFilterOperator.ArrayContainsAny => "ARRAY_CONTAINS_ANY",
        FirestoreFilterOperator.NotIn => "NOT_IN",
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };
}
