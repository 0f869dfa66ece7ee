using System.Text.Json.Serialization;

namespace Majestix.GoogleCloud.PubSub;

// REST request and response shapes (Pub/Sub v1).

internal sealed class MessageWire
{
    public byte[]? Data { get; set; }

    public Dictionary<string, string>? Attributes { get; set; }

    public string? OrderingKey { get; set; }

    public string? MessageId { get; set; }

    public string? PublishTime { get; set; }
}

internal sealed class PublishRequestWire
{
    public List<MessageWire> Messages { get; set; } = [];
}

internal sealed class PublishResponseWire
{
    public List<string>? MessageIds { get; set; }
}

internal sealed class SubscriptionWire
{
    public required string Topic { get; set; }

    public int AckDeadlineSeconds { get; set; }
}

internal sealed class PullRequestWire
{
    public int MaxMessages { get; set; }
}

internal sealed class PullResponseWire
{
    public List<ReceivedMessageWire>? ReceivedMessages { get; set; }
}

internal sealed class ReceivedMessageWire
{
    public string? AckId { get; set; }

    public MessageWire? Message { get; set; }

    public int? DeliveryAttempt { get; set; }
}

internal sealed class AcknowledgeRequestWire
{
    public List<string> AckIds { get; set; } = [];
}

internal sealed class PubSubEmptyWire;

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(PublishRequestWire))]
[JsonSerializable(typeof(PublishResponseWire))]
[JsonSerializable(typeof(SubscriptionWire))]
[JsonSerializable(typeof(PullRequestWire))]
[JsonSerializable(typeof(PullResponseWire))]
[JsonSerializable(typeof(AcknowledgeRequestWire))]
[JsonSerializable(typeof(PubSubEmptyWire))]
internal sealed partial class PubSubJsonContext : JsonSerializerContext;
