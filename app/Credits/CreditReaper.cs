using System.Globalization;
using Majestix.GoogleCloud.Firestore;
using Majestix.InferenceApi.Audit;
using Majestix.InferenceApi.Redis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Majestix.InferenceApi.Credits;

internal static class CreditAuditEvents
{
    public const string ReservationExpired = "reservation_expired";
    public const string CreditsGranted = "credits_granted";
}

/// <summary>
/// Voids holds whose request never settled (a crashed or scaled-in instance) and returns their credits;
/// forgets finished holds after the retention; re-drives ledger entries still pending after a grace (the
/// background ledger writer could not write them, never got to them, or the instance stopped first).
/// Every instance runs one: the scripts are atomic, so two reapers never void the same hold twice.
/// </summary>
internal sealed class CreditReaper(
    IDatabase redis,
    CreditLedger ledger,
    CreditStore credits,
    AuditLog audit,
    IOptions<CreditOptions> options,
    TimeProvider time,
    ILogger<CreditReaper> logger) : BackgroundService
{
    private const int BatchSize = 200;

    // Ledger entries unconfirmed for this long are re-driven: long enough for the ledger writer to have written them.
    private static readonly TimeSpan LedgerGrace = TimeSpan.FromSeconds(30);

    // KEYS: balance, holds, expiry, ledger pending. ARGV: hold id, expiry member, now ms, voided record retention ms,
    // settled record retention ms. Returns {'voided', plan part, top-up part} | {'kept'} | {'cleared'} | {'not_due'}.
    private static readonly RedisScript ReapScript = new(CreditStore.SharedLua + """

        local due = redis.call('ZSCORE', KEYS[3], ARGV[2])
        if not due or tonumber(due) > tonumber(ARGV[3]) then return {'not_due'} end
        local record = redis.call('HGET', KEYS[2], ARGV[1])
        if record then
          local state, plan_part, topup_part, cycle = parse(record)
          if state == 'held' then
            release(KEYS[1], plan_part, topup_part, cycle)
            redis.call('HSET', KEYS[2], ARGV[1], 'voided|' .. int(plan_part) .. '|' .. int(topup_part) .. '|' .. cycle)
            redis.call('ZADD', KEYS[3], tonumber(ARGV[3]) + tonumber(ARGV[4]), ARGV[2])
            return {'voided', int(plan_part), int(topup_part)}
          end
          if state == 'settled' and redis.call('ZSCORE', KEYS[4], ARGV[2]) then
            -- Its ledger entry is not written yet: until it is, a rebuild learns of the charge from this record alone.
            redis.call('ZADD', KEYS[3], tonumber(ARGV[3]) + tonumber(ARGV[5]), ARGV[2])
            return {'kept'}
          end
          redis.call('HDEL', KEYS[2], ARGV[1])
        end
        redis.call('ZREM', KEYS[3], ARGV[2])
        return {'cleared'}
        """);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.ReaperInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await ReapAsync(stoppingToken);
                    await RedriveLedgerAsync(stoppingToken);
                    await RedriveGrantsAsync(stoppingToken);
                }
                catch (Exception exception) when (RedisGuard.IsOutage(exception) || exception is FirestoreException or HttpRequestException)
                {
                    logger.LogWarning("Credit reaper pass failed ({Reason}); retrying next interval", exception.GetType().Name);
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    // A background service that throws stops the host: one bad pass must not take the API down.
                    logger.LogError(exception, "Credit reaper pass failed");
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One pass over everything due; returns how many holds were voided.</summary>
    public async Task<int> ReapAsync(CancellationToken cancellationToken = default)
    {
        var voided = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            var due = await redis.SortedSetRangeByScoreAsync(CreditKeys.HoldExpiry, double.NegativeInfinity, now, take: BatchSize);
            if (due.Length == 0)
            {
                return voided;
            }
            // Issued together: the multiplexer pipelines them into one round trip.
            var replies = await Task.WhenAll(due.Select(member => ReapOneAsync(member!, now)));
            foreach (var (member, reply) in due.Zip(replies))
            {
                if ((string?)reply[0] != "voided")
                {
                    continue;
                }
                voided++;
                var (userId, holdId) = CreditKeys.ParseHoldMember(member!);
                var credits = CreditUnits.ToCredits(CreditStore.Long(reply[1]) + CreditStore.Long(reply[2]));
                audit.Record(CreditAuditEvents.ReservationExpired, context: null, userId: userId, reason: "hold_expired",
                    details: new Dictionary<string, string> { ["hold_id"] = holdId, ["credits"] = credits.ToString(CultureInfo.InvariantCulture) });
            }
            if (due.Length < BatchSize)
            {
                return voided;
            }
        }
        return voided;
    }

    private async Task<RedisResult[]> ReapOneAsync(string member, long now)
    {
        var (userId, holdId) = CreditKeys.ParseHoldMember(member);
        // A hold whose settle could not reach Redis had its charge written to the ledger first: the process that was
        // retrying it may be gone. Settled at that charge, it is charged exactly once instead of going back unbilled.
        if (((string?)await redis.HashGetAsync(CreditKeys.Holds(userId), holdId))?.StartsWith("held|", StringComparison.Ordinal) == true
            && await ledger.GetEntryAsync(userId, holdId, CancellationToken.None) is { Type: LedgerEntryTypes.Charge } entry)
        {
            var status = await credits.SettleFromLedgerAsync(userId, holdId, entry);
            logger.LogWarning("Expired hold {HoldId} of user {UserId} had its charge in the ledger; settled from it ({Status}) instead of voided",
                holdId, userId, status);
            return [RedisResult.Create((RedisValue)"settled_from_ledger")];
        }
        return (RedisResult[])(await ReapScript.EvaluateAsync(redis,
            [CreditKeys.Balance(userId), CreditKeys.Holds(userId), CreditKeys.HoldExpiry, CreditKeys.LedgerPending],
            [holdId, member, now, (long)options.Value.FinishedHoldRetention.TotalMilliseconds, (long)options.Value.SettledHoldRetention.TotalMilliseconds]))!;
    }

    /// <summary>
    /// Writes the ledger entries still pending after the grace (create-if-absent: never twice), in one
    /// Firestore request per batch, and clears their markers. An entry whose write fails stays pending for
    /// the next pass. Returns how many entries this pass wrote; they are logged once per pass, so catching up
    /// on a long Firestore outage writes one line, not one per batch.
    /// </summary>
    public async Task<int> RedriveLedgerAsync(CancellationToken cancellationToken = default)
    {
        var rewritten = 0;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var before = (time.GetUtcNow() - LedgerGrace).ToUnixTimeMilliseconds();
                var pending = await redis.SortedSetRangeByScoreWithScoresAsync(CreditKeys.LedgerPending, double.NegativeInfinity, before, take: BatchSize);
                if (pending.Length == 0)
                {
                    break;
                }
                var (toWrite, done) = await ReadSettledAsync(pending);
                var results = toWrite.Count == 0 ? [] : await ledger.AppendBatchAsync([.. toWrite.Select(w => (w.UserId, w.HoldId, w.Entry))], cancellationToken);
                var written = toWrite.Where((_, i) => results[i].InLedger).ToList();
                rewritten += toWrite.Where((_, i) => results[i].InLedger && results[i].Error is null).Count();
                done.AddRange(written.Select(w => w.Member));
                if (done.Count > 0)
                {
                    await LedgerWriter.ConfirmWrittenAsync(redis, done, time.GetUtcNow() + options.Value.SettledHoldRetention);
                }
                if (written.Count < toWrite.Count)
                {
                    logger.LogWarning("{Count} pending ledger entries could not be written; retrying next interval", toWrite.Count - written.Count);
                    break;
                }
                if (pending.Length < BatchSize)
                {
                    break;
                }
            }
            return rewritten;
        }
        finally
        {
            if (rewritten > 0)
            {
                logger.LogWarning("Wrote {Count} pending ledger entries that the ledger writer had not confirmed", rewritten);
            }
        }
    }

    /// <summary>Applies grants left pending after the grace by the call that asked for them (<see cref="CreditStore.RedriveGrantsAsync"/>).</summary>
    public Task<int> RedriveGrantsAsync(CancellationToken cancellationToken = default) => credits.RedriveGrantsAsync(LedgerGrace, cancellationToken);

    /// <summary>
    /// The settled records behind a batch of pending ledger markers, read in one pipelined trip: the entries to
    /// write, and the markers with nothing left to write (their record was forgotten after the retention).
    /// </summary>
    private async Task<(List<PendingEntry> ToWrite, List<RedisValue> Done)> ReadSettledAsync(SortedSetEntry[] pending)
    {
        var holds = pending.Select(item => CreditKeys.ParseHoldMember(item.Element!)).ToArray();
        var records = await Task.WhenAll(holds.Select(hold => redis.HashGetAsync(CreditKeys.Holds(hold.UserId), hold.HoldId)));
        var toWrite = new List<PendingEntry>();
        var done = new List<RedisValue>();
        for (var i = 0; i < pending.Length; i++)
        {
            if (((string?)records[i])?.Split('|') is ["settled", var plan, var topup, var cycle])
            {
                toWrite.Add(new PendingEntry(pending[i].Element, holds[i].UserId, holds[i].HoldId, new LedgerEntry(LedgerEntryTypes.Charge,
                    -long.Parse(plan, CultureInfo.InvariantCulture), -long.Parse(topup, CultureInfo.InvariantCulture),
                    DateTimeOffset.FromUnixTimeMilliseconds((long)pending[i].Score), DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(cycle, CultureInfo.InvariantCulture)))));
            }
            else
            {
                done.Add(pending[i].Element);
            }
        }
        return (toWrite, done);
    }

    private readonly record struct PendingEntry(RedisValue Member, string UserId, string HoldId, LedgerEntry Entry);
}
