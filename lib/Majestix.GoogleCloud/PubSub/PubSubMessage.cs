using System.Text;

namespace Majestix.GoogleCloud.PubSub;

/// <summary>A message to publish. Needs non-empty data or at least one attribute.</summary>
/// <param name="Data">The payload.</param>
/// <param name="Attributes">String attributes (at most 100).</param>
/// <param name="OrderingKey">Messages with the same key are delivered in order on ordered subscriptions.</param>
public sealed record PubSubMessage(
    ReadOnlyMemory<byte> Data,
    IReadOnlyDictionary<string, string>? Attributes = null,
    string? OrderingKey = null)
{
    /// <summary>A message whose payload is UTF-8 text (typically JSON).</summary>
    public static PubSubMessage FromString(string text, IReadOnlyDictionary<string, string>? attributes = null, string? orderingKey = null) =>
        new(Encoding.UTF8.GetBytes(text), attributes, orderingKey);

    // Approximates the JSON request size: base64 payload plus attribute text and framing.
    internal int EstimatedSize =>
        (((Data.Length + 2) / 3) * 4)
        + (Attributes?.Sum(a => a.Key.Length + a.Value.Length + 8) ?? 0)
        + (OrderingKey?.Length ?? 0)
        + 32;
}

/// <summary>A pulled message; acknowledge it with its <see cref="AckId"/>.</summary>
/// <param name="AckId">The id to acknowledge with.</param>
/// <param name="MessageId">The server-assigned message id.</param>
/// <param name="Data">The payload.</param>
/// <param name="Attributes">The attributes (empty when none).</param>
/// <param name="PublishTime">When the server accepted the message.</param>
/// <param name="OrderingKey">The ordering key, if any.</param>
/// <param name="DeliveryAttempt">Set only when the subscription has a dead-letter policy.</param>
public sealed record PubSubReceivedMessage(
    string AckId,
    string MessageId,
    ReadOnlyMemory<byte> Data,
    IReadOnlyDictionary<string, string> Attributes,
    DateTimeOffset? PublishTime,
    string? OrderingKey,
    int? DeliveryAttempt)
{
    /// <summary>The payload decoded as UTF-8.</summary>
    public string GetDataAsString() => Encoding.UTF8.GetString(Data.Span);
}

/// <summary>Why messages were dropped.</summary>
public enum PubSubDropReason
{
    /// <summary>The publisher's buffer was full when the message was offered.</summary>
    BufferFull,

    /// <summary>Publishing failed with a non-retryable error or ran out of attempts.</summary>
    PublishFailed,

    /// <summary>The publisher was shutting down (or its shutdown timeout elapsed).</summary>
    PublisherStopped,
}

/// <summary>A report of dropped messages.</summary>
/// <param name="TopicId">The topic the messages were meant for.</param>
/// <param name="Count">How many messages were dropped.</param>
/// <param name="Reason">Why.</param>
/// <param name="Error">The final error for <see cref="PubSubDropReason.PublishFailed"/>.</param>
public sealed record PubSubDroppedMessages(string TopicId, int Count, PubSubDropReason Reason, Exception? Error = null);
