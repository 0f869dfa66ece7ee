using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Options;

namespace Majestix.GoogleCloud.PubSub;

/// <summary>
/// Pub/Sub REST v1 calls: publish, idempotent topic/pull-subscription creation, pull and acknowledge.
/// Topic and subscription ids are short names within <see cref="PubSubOptions.ProjectId"/>.
/// </summary>
public sealed class PubSubClient
{
    private readonly HttpClient _http;

    /// <summary>Creates the client over an <see cref="HttpClient"/> whose auth is already set.</summary>
    public PubSubClient(HttpClient http, IOptions<PubSubOptions> options)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        _http = http;
        _http.BaseAddress ??= options.Value.BaseAddress;
        ProjectId = options.Value.ProjectId;
    }

    /// <summary>The project the ids are resolved in.</summary>
    public string ProjectId { get; }

    /// <summary><c>projects/{p}/topics/{topicId}</c>.</summary>
    public string TopicName(string topicId) => $"projects/{ProjectId}/topics/{Validate(topicId)}";

    /// <summary><c>projects/{p}/subscriptions/{subscriptionId}</c>.</summary>
    public string SubscriptionName(string subscriptionId) => $"projects/{ProjectId}/subscriptions/{Validate(subscriptionId)}";

    /// <summary>Creates the topic; an existing topic counts as success.</summary>
    public Task CreateTopicAsync(string topicId, CancellationToken cancellationToken = default) =>
        CreateIdempotentlyAsync(TopicName(topicId), new PubSubEmptyWire(), PubSubJsonContext.Default.PubSubEmptyWire, cancellationToken);

    /// <summary>Creates a pull subscription on the topic; an existing subscription counts as success.</summary>
    public Task CreatePullSubscriptionAsync(
        string subscriptionId,
        string topicId,
        int ackDeadlineSeconds = 10,
        CancellationToken cancellationToken = default) =>
        CreateIdempotentlyAsync(
            SubscriptionName(subscriptionId),
            new SubscriptionWire { Topic = TopicName(topicId), AckDeadlineSeconds = ackDeadlineSeconds },
            PubSubJsonContext.Default.SubscriptionWire,
            cancellationToken);

    /// <summary>Publishes one request's worth of messages (at most 1,000 and 10 MB); returns the message ids in order.</summary>
    public async Task<IReadOnlyList<string>> PublishAsync(
        string topicId,
        IReadOnlyCollection<PubSubMessage> messages,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count is 0 or > PubSubOptions.MaxMessagesPerRequest)
        {
            throw new ArgumentOutOfRangeException(nameof(messages), messages.Count, "A publish request carries 1 to 1,000 messages.");
        }

        var request = new PublishRequestWire
        {
            Messages = messages.Select(m => new MessageWire
            {
                Data = m.Data.ToArray(),
                Attributes = m.Attributes is { Count: > 0 } ? new Dictionary<string, string>(m.Attributes, StringComparer.Ordinal) : null,
                OrderingKey = m.OrderingKey,
            }).ToList(),
        };
        var response = await PostAsync(
                TopicName(topicId) + ":publish",
                request,
                PubSubJsonContext.Default.PublishRequestWire,
                PubSubJsonContext.Default.PublishResponseWire,
                cancellationToken)
            .ConfigureAwait(false);
        return response.MessageIds ?? [];
    }

    /// <summary>Pulls up to <paramref name="maxMessages"/> messages; empty when none are waiting.</summary>
    public async Task<IReadOnlyList<PubSubReceivedMessage>> PullAsync(
        string subscriptionId,
        int maxMessages = 100,
        CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        var response = await PostAsync(
                SubscriptionName(subscriptionId) + ":pull",
                new PullRequestWire { MaxMessages = maxMessages },
                PubSubJsonContext.Default.PullRequestWire,
                PubSubJsonContext.Default.PullResponseWire,
                cancellationToken)
            .ConfigureAwait(false);

        return (response.ReceivedMessages ?? [])
            .Select(r => new PubSubReceivedMessage(
                r.AckId ?? string.Empty,
                r.Message?.MessageId ?? string.Empty,
                r.Message?.Data ?? [],
                r.Message?.Attributes ?? new Dictionary<string, string>(),
                GoogleTimestamp.ParseOptional(r.Message?.PublishTime),
                r.Message?.OrderingKey,
                r.DeliveryAttempt))
            .ToList();
    }

    /// <summary>Acknowledges pulled messages so they are not redelivered.</summary>
    public async Task AcknowledgeAsync(string subscriptionId, IEnumerable<string> ackIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ackIds);
        var request = new AcknowledgeRequestWire { AckIds = [.. ackIds] };
        if (request.AckIds.Count == 0)
        {
            return;
        }

        await PostAsync(
                SubscriptionName(subscriptionId) + ":acknowledge",
                request,
                PubSubJsonContext.Default.AcknowledgeRequestWire,
                PubSubJsonContext.Default.PubSubEmptyWire,
                cancellationToken)
            .ConfigureAwait(false);
    }

    private async Task CreateIdempotentlyAsync<T>(string resourceName, T body, JsonTypeInfo<T> bodyType, CancellationToken cancellationToken)
    {
        using var response = await _http.PutAsync(new Uri(resourceName, UriKind.Relative), JsonContent.Create(body, bodyType), cancellationToken)
            .ConfigureAwait(false);
        if (response.IsSuccessStatusCode || response.StatusCode == HttpStatusCode.Conflict)
        {
            return;
        }

        throw new PubSubException(await GoogleApiError.ReadAsync(response, cancellationToken).ConfigureAwait(false));
    }

    private async Task<TResponse> PostAsync<TRequest, TResponse>(
        string relativeUri,
        TRequest body,
        JsonTypeInfo<TRequest> requestType,
        JsonTypeInfo<TResponse> responseType,
        CancellationToken cancellationToken)
    {
        using var response = await _http.PostAsync(new Uri(relativeUri, UriKind.Relative), JsonContent.Create(body, requestType), cancellationToken)
            .ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new PubSubException(await GoogleApiError.ReadAsync(response, cancellationToken).ConfigureAwait(false));
        }

        return await response.Content.ReadFromJsonAsync(responseType, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException("Pub/Sub returned an empty body.");
    }

    // Ids are path segments; rejecting separators keeps a caller's id from addressing another resource.
    private static string Validate(string id)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        if (id.Length < 3 || id.AsSpan().IndexOfAny("/?#%:") >= 0)
        {
            throw new ArgumentException($"'{id}' is not a valid topic or subscription id.", nameof(id));
        }

        return id;
    }
}
