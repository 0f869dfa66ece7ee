using Microsoft.Extensions.Options;

namespace Majestix.GoogleCloud.PubSub;

/// <summary>Where the Pub/Sub client connects and how the publisher batches.</summary>
public sealed class PubSubOptions
{
    /// <summary>The configuration section bound by <c>AddPubSub</c>.</summary>
    public const string SectionName = "PubSub";

    /// <summary>The environment variable that switches to the emulator (host:port).</summary>
    public const string EmulatorHostVariable = "PUBSUB_EMULATOR_HOST";

    /// <summary>The hard per-request limits of the Publish API.</summary>
    public const int MaxMessagesPerRequest = 1000;

    /// <summary>The hard per-request byte limit of the Publish API.</summary>
    public const int MaxBytesPerRequest = 10_000_000;

    /// <summary>The Google Cloud project id owning the topics and subscriptions.</summary>
    public string ProjectId { get; set; } = string.Empty;

    /// <summary>Emulator host:port. When set, requests go there over HTTP without credentials.</summary>
    public string? EmulatorHost { get; set; }

    /// <summary>A batch is sent once it holds this many messages.</summary>
    public int MaxBatchMessages { get; set; } = 100;

    /// <summary>A batch is sent once its encoded size reaches this many bytes.</summary>
    public int MaxBatchBytes { get; set; } = 1_000_000;

    /// <summary>A batch is sent at the latest this long after its first message was queued.</summary>
    public TimeSpan MaxBatchDelay { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Publish requests in flight at once (batches with an ordering key go one at a time).</summary>
    public int MaxConcurrentPublishes { get; set; } = 8;

    /// <summary>Messages waiting to be batched beyond this count are dropped (and reported), never blocking callers.</summary>
    public int MaxBufferedMessages { get; set; } = 10_000;

    /// <summary>Attempts per batch on retryable errors before the batch is dropped and reported.</summary>
    public int MaxPublishAttempts { get; set; } = 5;

    /// <summary>Delay before the first publish retry; grows ×1.3 per attempt up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan InitialRetryDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Upper bound for one retry delay.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long shutdown waits for buffered messages to be sent before dropping the rest.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Messages refused at a full buffer (or after stopping) are logged one warning per this interval,
    /// with their count, after the first is logged at once: an outage refuses every call's message.
    /// </summary>
    public TimeSpan DropReportInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Called (besides a warning log) whenever messages are dropped. Must be fast and not throw.</summary>
    public Action<PubSubDroppedMessages>? MessagesDropped { get; set; }

    internal bool UsesEmulator => !string.IsNullOrWhiteSpace(EmulatorHost);

    internal Uri BaseAddress => GoogleEndpoints.BaseAddress(EmulatorHost, "https://pubsub.googleapis.com/v1/");

    internal RetryBackoff RetryBackoff => new(InitialRetryDelay, 1.3, MaxRetryDelay);
}

internal sealed class PubSubOptionsValidator : IValidateOptions<PubSubOptions>
{
    public ValidateOptionsResult Validate(string? name, PubSubOptions options)
    {
        var failures = new List<string>();
        void Require(bool condition, string message)
        {
            if (!condition)
            {
                failures.Add($"{PubSubOptions.SectionName}:{message}");
            }
        }

        Require(!string.IsNullOrWhiteSpace(options.ProjectId), $"{nameof(PubSubOptions.ProjectId)} is required.");
        Require(!options.UsesEmulator || GoogleEndpoints.IsValidEmulatorHost(options.EmulatorHost), $"{nameof(PubSubOptions.EmulatorHost)} must be host:port.");
        Require(options.MaxBatchMessages is >= 1 and <= PubSubOptions.MaxMessagesPerRequest, $"{nameof(PubSubOptions.MaxBatchMessages)} must be 1–{PubSubOptions.MaxMessagesPerRequest}.");
        Require(options.MaxBatchBytes is >= 1 and <= PubSubOptions.MaxBytesPerRequest, $"{nameof(PubSubOptions.MaxBatchBytes)} must be 1–{PubSubOptions.MaxBytesPerRequest}.");
        Require(options.MaxBatchDelay >= TimeSpan.Zero, $"{nameof(PubSubOptions.MaxBatchDelay)} must not be negative.");
        Require(options.MaxConcurrentPublishes is >= 1 and <= 64, $"{nameof(PubSubOptions.MaxConcurrentPublishes)} must be 1–64.");
        Require(options.MaxBufferedMessages >= 1, $"{nameof(PubSubOptions.MaxBufferedMessages)} must be at least 1.");
        Require(options.MaxPublishAttempts >= 1, $"{nameof(PubSubOptions.MaxPublishAttempts)} must be at least 1.");
        Require(options.DropReportInterval > TimeSpan.Zero, $"{nameof(PubSubOptions.DropReportInterval)} must be positive.");
        Require(options.ShutdownTimeout > TimeSpan.Zero, $"{nameof(PubSubOptions.ShutdownTimeout)} must be positive.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
