using System.Text.Json.Serialization;

namespace Majestix.GoogleCloud.Firestore;

// REST request and response shapes (Firestore v1). Values use FirestoreValue's own converter.

internal sealed class DocumentWire
{
    public string? Name { get; set; }

    public Dictionary<string, FirestoreValue>? Fields { get; set; }

    public string? CreateTime { get; set; }

    public string? UpdateTime { get; set; }
}

internal sealed class DocumentMaskWire
{
    public List<string> FieldPaths { get; set; } = [];
}

internal sealed class PreconditionWire
{
    public bool? Exists { get; set; }

    public string? UpdateTime { get; set; }
}

internal sealed class FieldTransformWire
{
    public required string FieldPath { get; set; }

    public string? SetToServerValue { get; set; }

    public FirestoreValue? Increment { get; set; }

    public FirestoreValue? Maximum { get; set; }

    public FirestoreValue? Minimum { get; set; }

    public ArrayValueWire? AppendMissingElements { get; set; }

    public ArrayValueWire? RemoveAllFromArray { get; set; }
}

internal sealed class ArrayValueWire
{
    public List<FirestoreValue> Values { get; set; } = [];
}

internal sealed class WriteWire
{
    public DocumentWire? Update { get; set; }

    public string? Delete { get; set; }

    public DocumentMaskWire? UpdateMask { get; set; }

    public List<FieldTransformWire>? UpdateTransforms { get; set; }

    public PreconditionWire? CurrentDocument { get; set; }
}

internal sealed class CommitRequestWire
{
    public List<WriteWire> Writes { get; set; } = [];

    public string? Transaction { get; set; }
}

internal sealed class CommitResponseWire
{
    public List<WriteResultWire>? WriteResults { get; set; }

    public string? CommitTime { get; set; }
}

internal sealed class WriteResultWire
{
    public string? UpdateTime { get; set; }

    public List<FirestoreValue>? TransformResults { get; set; }
}

internal sealed class BatchWriteRequestWire
{
    public List<WriteWire> Writes { get; set; } = [];
}

internal sealed class BatchWriteResponseWire
{
    public List<WriteResultWire>? WriteResults { get; set; }

    public List<RpcStatusWire>? Status { get; set; }
}

// google.rpc.Status: a numeric code (0 or absent = OK), unlike the error envelope's status name.
internal sealed class RpcStatusWire
{
    public int Code { get; set; }

    public string? Message { get; set; }
}

internal sealed class BeginTransactionRequestWire
{
    public TransactionOptionsWire Options { get; set; } = new();
}

internal sealed class TransactionOptionsWire
{
    public ReadWriteWire? ReadWrite { get; set; }
}

internal sealed class ReadWriteWire
{
    public string? RetryTransaction { get; set; }
}

internal sealed class BeginTransactionResponseWire
{
    public string? Transaction { get; set; }
}

internal sealed class RollbackRequestWire
{
    public required string Transaction { get; set; }
}

internal sealed class RunQueryRequestWire
{
    public required StructuredQueryWire StructuredQuery { get; set; }

    public string? Transaction { get; set; }
}

internal sealed class RunAggregationQueryRequestWire
{
    public required StructuredAggregationQueryWire StructuredAggregationQuery { get; set; }
}

internal sealed class StructuredAggregationQueryWire
{
    public required StructuredQueryWire StructuredQuery { get; set; }

    public List<AggregationWire> Aggregations { get; set; } = [];
}

internal sealed class AggregationWire
{
    public string? Alias { get; set; }

    public EmptyWire? Count { get; set; }
}

internal sealed class RunAggregationQueryResponseWire
{
    public AggregationResultWire? Result { get; set; }

    public GoogleApiErrorBody? Error { get; set; }
}

internal sealed class AggregationResultWire
{
    public Dictionary<string, FirestoreValue>? AggregateFields { get; set; }
}

internal sealed class BatchGetRequestWire
{
    public List<string> Documents { get; set; } = [];

    public string? Transaction { get; set; }
}

internal sealed class BatchGetResponseWire
{
    public DocumentWire? Found { get; set; }

    public string? Missing { get; set; }

    public string? ReadTime { get; set; }

    public GoogleApiErrorBody? Error { get; set; }
}

internal sealed class RunQueryResponseWire
{
    public DocumentWire? Document { get; set; }

    public GoogleApiErrorBody? Error { get; set; }
}

internal sealed class StructuredQueryWire
{
    public List<CollectionSelectorWire> From { get; set; } = [];

    public FilterWire? Where { get; set; }

    public List<OrderWire>? OrderBy { get; set; }

    public CursorWire? StartAt { get; set; }

    public CursorWire? EndAt { get; set; }

    public int? Offset { get; set; }

    public int? Limit { get; set; }
}

internal sealed class CollectionSelectorWire
{
    public required string CollectionId { get; set; }

    public bool? AllDescendants { get; set; }
}

internal sealed class FilterWire
{
    public CompositeFilterWire? CompositeFilter { get; set; }

    public FieldFilterWire? FieldFilter { get; set; }

    public UnaryFilterWire? UnaryFilter { get; set; }
}

internal sealed class CompositeFilterWire
{
    public required string Op { get; set; }

    public List<FilterWire> Filters { get; set; } = [];
}

internal sealed class FieldFilterWire
{
    public required FieldReferenceWire Field { get; set; }

    public required string Op { get; set; }

    public required FirestoreValue Value { get; set; }
}

internal sealed class UnaryFilterWire
{
    public required string Op { get; set; }

    public required FieldReferenceWire Field { get; set; }
}

internal sealed class FieldReferenceWire
{
    public required string FieldPath { get; set; }
}

internal sealed class OrderWire
{
    public required FieldReferenceWire Field { get; set; }

    public required string Direction { get; set; }
}

internal sealed class CursorWire
{
    public List<FirestoreValue> Values { get; set; } = [];

    public bool Before { get; set; }
}

internal sealed class EmptyWire;

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(DocumentWire))]
[JsonSerializable(typeof(CommitRequestWire))]
[JsonSerializable(typeof(CommitResponseWire))]
[JsonSerializable(typeof(BatchWriteRequestWire))]
[JsonSerializable(typeof(BatchWriteResponseWire))]
[JsonSerializable(typeof(BeginTransactionRequestWire))]
[JsonSerializable(typeof(BeginTransactionResponseWire))]
[JsonSerializable(typeof(RollbackRequestWire))]
[JsonSerializable(typeof(RunQueryRequestWire))]
[JsonSerializable(typeof(List<RunQueryResponseWire>))]
[JsonSerializable(typeof(BatchGetRequestWire))]
[JsonSerializable(typeof(RunAggregationQueryRequestWire))]
[JsonSerializable(typeof(List<RunAggregationQueryResponseWire>))]
[JsonSerializable(typeof(List<BatchGetResponseWire>))]
[JsonSerializable(typeof(EmptyWire))]
internal sealed partial class FirestoreJsonContext : JsonSerializerContext;
