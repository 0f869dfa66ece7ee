using System.ComponentModel.DataAnnotations;
using Majestix.InferenceApi.Identity;
using Microsoft.Extensions.Options;

namespace Majestix.InferenceApi.Credits;

public sealed class CreditOptions
{
    public const string SectionName = "Credits";

    [Range(0, 100_000_000)]
    public int FreeAllocationCredits { get; set; } = 500;

    [Range(0, 100_000_000)]
    public int GuruAllocationCredits { get; set; } = 10_000;

    [Range(0, 100_000_000)]
    public int ProAllocationCredits { get; set; } = 55_000;

    /// <summary>How long a reservation holds credits before the reaper returns them (a crashed request).</summary>
    [Range(1, 86_400)]
    public int HoldTtlSeconds { get; set; } = 600;

    [Range(50, 3_600_000)]
    public int ReaperIntervalMilliseconds { get; set; } = 15_000;

    /// <summary>
    /// How long a voided hold is remembered (a settle arriving after the reaper voided it is charged from
    /// the record, once), and an applied grant id (a grant retried within it is not applied again).
    /// </summary>
    [Range(1, 720)]
    public int FinishedHoldRetentionHours { get; set; } = 24;

    /// <summary>
    /// How long a settled hold's record stays after the settle and after its ledger entry is confirmed
    /// written, whichever is later (a settle retried within it is answered from the record). Every call
    /// leaves one, about 230 bytes of Redis, so it is kept short: at 24 hours a busy gateway would fill
    /// its Memorystore with them. The reaper never forgets one whose ledger entry is still pending.
    /// </summary>
    [Range(1, 1440)]
    public int SettledHoldRetentionMinutes { get; set; } = 15;

    /// <summary>Upper bound of one admin grant, a guard against a typo granting millions.</summary>
    [Range(1, 100_000_000)]
    public int MaxGrantCredits { get; set; } = 1_000_000;

    /// <summary>
    /// Settled charges waiting for the background ledger write. When it is full a charge is not queued but
    /// stays in the durable pending set, and the reaper writes it after its grace.
    /// </summary>
    [Range(1, 1_000_000)]
    public int LedgerQueueCapacity { get; set; } = 10_000;

    /// <summary>The most ledger entries the writer takes in one pass (a commit holds 500 writes, entries and the sums they change: a pass may take two).</summary>
    [Range(1, 500)]
    public int LedgerBatchSize { get; set; } = 200;

    /// <summary>How long the first queued entry waits for others to share its Firestore request (0: write at once).</summary>
    [Range(0, 1_000)]
    public int LedgerBatchDelayMilliseconds { get; set; } = 50;

    public TimeSpan HoldTtl => TimeSpan.FromSeconds(HoldTtlSeconds);

    public TimeSpan ReaperInterval => TimeSpan.FromMilliseconds(ReaperIntervalMilliseconds);

    public TimeSpan FinishedHoldRetention => TimeSpan.FromHours(FinishedHoldRetentionHours);

    public TimeSpan SettledHoldRetention => TimeSpan.FromMinutes(SettledHoldRetentionMinutes);

    public long AllocationUnits(Plan plan) => CreditUnits.FromWholeCredits(plan switch
    {
        Plan.Guru => GuruAllocationCredits,
        Plan.Pro => ProAllocationCredits,
        _ => FreeAllocationCredits,
    });
}

[OptionsValidator]
public sealed partial class CreditOptionsValidator : IValidateOptions<CreditOptions>;
