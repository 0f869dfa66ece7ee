using Microsoft.Extensions.Options;

namespace Majestix.GoogleCloud.Firestore;

/// <summary>Where the Firestore client connects.</summary>
public sealed class FirestoreOptions
{
    /// <summary>The configuration section bound by <c>AddFirestore</c>.</summary>
    public const string SectionName = "Firestore";

    /// <summary>The environment variable that switches to the emulator (host:port).</summary>
    public const string EmulatorHostVariable = "FIRESTORE_EMULATOR_HOST";

    /// <summary>The Google Cloud project id.</summary>
    public string ProjectId { get; set; } = string.Empty;

    /// <summary>The database id; <c>(default)</c> unless the project uses named databases.</summary>
    public string DatabaseId { get; set; } = "(default)";

    /// <summary>Emulator host:port. When set, requests go there over HTTP as the emulator's admin user.</summary>
    public string? EmulatorHost { get; set; }

    /// <summary>How transactions retry after contention (ABORTED) unless a call overrides it.</summary>
    public FirestoreTransactionOptions Transactions { get; set; } = new();

    internal bool UsesEmulator => !string.IsNullOrWhiteSpace(EmulatorHost);

    internal Uri BaseAddress => GoogleEndpoints.BaseAddress(EmulatorHost, "https://firestore.googleapis.com/v1/");
}

/// <summary>Retry policy for <see cref="FirestoreClient.RunTransactionAsync{T}"/>.</summary>
public sealed class FirestoreTransactionOptions
{
    /// <summary>How many times the whole transaction runs before the ABORTED error is thrown.</summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>Upper bound of the (fully jittered) delay before the first retry; the official SDKs use 1 s.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Upper bound for one delay.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Growth factor per retry.</summary>
    public double BackoffMultiplier { get; set; } = 1.5;

    internal RetryBackoff Backoff => new(InitialBackoff, BackoffMultiplier, MaxBackoff);
}

internal sealed class FirestoreOptionsValidator : IValidateOptions<FirestoreOptions>
{
    public ValidateOptionsResult Validate(string? name, FirestoreOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ProjectId))
        {
            failures.Add($"{FirestoreOptions.SectionName}:{nameof(FirestoreOptions.ProjectId)} is required.");
        }

        if (string.IsNullOrWhiteSpace(options.DatabaseId))
        {
            failures.Add($"{FirestoreOptions.SectionName}:{nameof(FirestoreOptions.DatabaseId)} is required.");
        }

        if (options.UsesEmulator && !GoogleEndpoints.IsValidEmulatorHost(options.EmulatorHost))
        {
            failures.Add($"{FirestoreOptions.SectionName}:{nameof(FirestoreOptions.EmulatorHost)} must be host:port, got '{options.EmulatorHost}'.");
        }

        if (options.Transactions.MaxAttempts < 1)
        {
            failures.Add($"{FirestoreOptions.SectionName}:Transactions:MaxAttempts must be at least 1.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
