using System.Globalization;
using System.Security.Cryptography;
using Majestix.GoogleCloud.Firestore;
using Majestix.InferenceApi.Identity;
using Majestix.InferenceApi.Redis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Majestix.InferenceApi.Credits;

/// <summary>
/// Hot balances and holds in Redis (one script, one round trip per operation), the ledger in Firestore
/// as the durable truth. The rule that orders every write: Redis may hold less than the ledger implies,
/// never more. So spending moves Redis first and then appends the ledger entry (a crash in between
/// leaves the user charged in Redis, never able to overspend), while grants append the ledger entry
/// first and then raise Redis (a crash in between leaves the grant for the next rebuild or refresh).
/// A settle records its intent to write the entry in the same script (the ledger pending set), so the
/// entry is written in the background (<see cref="LedgerWriter"/>) or, failing that, by the reaper; a
/// rebuild counts pending charges as spent until their entry is confirmed.
/// </summary>
internal sealed class CreditStore(
    IDatabase redis,
    RedisGuard guard,
    CreditLedger ledger,
    LedgerWriter ledgerWriter,
    BalanceWatch balanceWatch,
    IOptions<CreditOptions> options,
    TimeProvider time,
    ILogger<CreditStore> logger)
{
    // Shared by the scripts here and the reaper's. Amounts are integers below 2^53, exact as Lua numbers;
    // int() formats them without an exponent. Records: state|plan part|top-up part|cycle start.
    internal const string SharedLua = """
        local function int(n) return string.format('%d', n) end
        local function parse(record)
          local state, plan, topup, cycle = string.match(record, '^(%a+)|(%-?%d+)|(%-?%d+)|(%d*)$')
          return state, tonumber(plan), tonumber(topup), cycle
        end
        local function days_from_civil(y, m, d)
          if m <= 2 then y = y - 1 end
          local era = math.floor(y / 400)
          local yoe = y - era * 400
          local doy = math.floor((153 * ((m + 9) % 12) + 2) / 5) + d - 1
          return era * 146097 + yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy - 719468
        end
        local function civil_from_days(z)
          z = z + 719468
          local era = math.floor(z / 146097)
          local doe = z - era * 146097
          local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
          local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
          local mp = math.floor((5 * doy + 2) / 153)
          local d = doy - math.floor((153 * mp + 2) / 5) + 1
          local m = mp < 10 and mp + 3 or mp - 9
          local y = yoe + era * 400
          if m <= 2 then y = y + 1 end
          return y, m, d
        end
        -- DateTimeOffset.AddMonths in UTC: same time of day, day clamped to the target month's length.
        local function add_months(anchor, months)
          local day = 86400000
          local days = math.floor(anchor / day)
          local y, m, d = civil_from_days(days)
          local index = y * 12 + m - 1 + months
          local ty, tm = math.floor(index / 12), index % 12 + 1
          local length = days_from_civil(math.floor((index + 1) / 12), (index + 1) % 12 + 1, 1) - days_from_civil(ty, tm, 1)
          return days_from_civil(ty, tm, math.min(d, length)) * day + (anchor - days * day)
        end
        -- A cycle that ended resets the plan bucket to the allocation; top-ups carry over. A subscription's paid period
        -- (held_period) does not roll: the next one starts when its invoice is paid (billing moves the cycle then).
        local function roll(balance, now)
          local cycle_end = tonumber(redis.call('HGET', balance, 'cycle_end'))
          if now < cycle_end then return end
          if redis.call('HGET', balance, 'held_period') == '1' then return end
          local anchor = tonumber(redis.call('HGET', balance, 'anchor'))
          local index = tonumber(redis.call('HGET', balance, 'cycle_index'))
          repeat
            index = index + 1
            cycle_end = add_months(anchor, index + 1)
          until now < cycle_end
          redis.call('HSET', balance, 'plan', redis.call('HGET', balance, 'allocation'), 'cycle_index', int(index),
            'cycle_start', int(add_months(anchor, index)), 'cycle_end', int(cycle_end))
        end
        -- Returns unused held credits. A plan part held in an earlier cycle expired with it: the reset
        -- already restored the full allocation. A missing balance is rebuilt from the ledger instead.
        local function release(balance, plan, topup, cycle)
          if redis.call('EXISTS', balance) == 0 then return end
          if topup > 0 then redis.call('HINCRBY', balance, 'topup', int(topup)) end
          if plan > 0 and redis.call('HGET', balance, 'cycle_start') == cycle then
            redis.call('HINCRBY', balance, 'plan', int(plan))
          end
        end
        """;

    // Holds amount (plan bucket first, then top-up, all or nothing) and schedules the hold's expiry. Shared by
    // the reserve script and the gate's (RedisGate), which holds for a call in the same trip as its key check.
    // Returns {'load'} | {'short', available, plan name} | {'ok', plan part, top-up part, cycle start}.
    internal const string ReserveLua = SharedLua + """

        local function reserve(balance, holds, expiry, hold_id, amount, now, expires, member)
          -- A reserve retried after a timeout (it may have run) finds its hold: nothing is held twice.
          local existing = redis.call('HGET', holds, hold_id)
          if existing then
            local _, held_plan, held_topup, held_cycle = parse(existing)
            return {'ok', int(held_plan), int(held_topup), held_cycle}
          end
          if redis.call('EXISTS', balance) == 0 then return {'load'} end
          roll(balance, now)
          local plan = tonumber(redis.call('HGET', balance, 'plan'))
          local topup = tonumber(redis.call('HGET', balance, 'topup'))
          if plan + topup < amount then
            return {'short', int(math.max(0, plan + topup)), redis.call('HGET', balance, 'plan_name')}
          end
          local from_plan = math.max(0, math.min(amount, plan))
          local from_topup = amount - from_plan
          local cycle = redis.call('HGET', balance, 'cycle_start')
          redis.call('HINCRBY', balance, 'plan', int(-from_plan))
          redis.call('HINCRBY', balance, 'topup', int(-from_topup))
          redis.call('HSET', holds, hold_id, 'held|' .. int(from_plan) .. '|' .. int(from_topup) .. '|' .. cycle)
          redis.call('ZADD', expiry, expires, member)
          return {'ok', int(from_plan), int(from_topup), cycle}
        end
        """;

    // KEYS: balance, holds, expiry. ARGV: hold id, amount, now ms, expires ms, expiry member.
    private static readonly RedisScript ReserveScript = new(ReserveLua + """

        return reserve(KEYS[1], KEYS[2], KEYS[3], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5])
        """);

    // KEYS: balance, holds, expiry, ledger pending, usage report cache. ARGV: hold id, actual, now ms, member, record retention ms.
    // Returns {status, plan charged, top-up charged, cycle start, shortfall}; status settled | duplicate | late | lost
    // (no hold, a balance is loaded) | lost_unloaded (no hold or nothing to charge it from, no balance either).
    // The actual cost is charged in full: the held parts first, then anything beyond them from the balance (plan
    // bucket of the hold's cycle, then top-up), never below zero; what the balance could not cover is the shortfall.
    private static readonly RedisScript SettleScript = new(SharedLua + """

        local record = redis.call('HGET', KEYS[2], ARGV[1])
        if not record then
          return {redis.call('EXISTS', KEYS[1]) == 1 and 'lost' or 'lost_unloaded', '0', '0', '', '0'}
        end
        local state, plan_part, topup_part, cycle = parse(record)
        if state == 'settled' then return {'duplicate', int(plan_part), int(topup_part), cycle, '0'} end
        local now, actual = tonumber(ARGV[3]), tonumber(ARGV[2])
        local status, plan_charge, topup_charge
        local excess = actual
        if state == 'held' then
          -- The plan part was taken first, so it is charged first and the top-up part is refunded first.
          plan_charge = math.min(actual, plan_part)
          topup_charge = math.min(actual - plan_charge, topup_part)
          release(KEYS[1], plan_part - plan_charge, topup_part - topup_charge, cycle)
          excess = actual - plan_charge - topup_charge
          status = 'settled'
        else
          -- Voided by the reaper, so its credits went back: the whole usage comes from what the balance holds now.
          if redis.call('EXISTS', KEYS[1]) == 0 then return {'lost_unloaded', '0', '0', '', '0'} end
          plan_charge, topup_charge = 0, 0
          status = 'late'
        end
        local shortfall = 0
        if excess > 0 then
          if redis.call('EXISTS', KEYS[1]) == 0 then
            -- No balance to take it from: booked to the plan part; the rebuild that loads the balance subtracts it.
            plan_charge = plan_charge + excess
          else
            roll(KEYS[1], now)
            if status == 'late' then cycle = redis.call('HGET', KEYS[1], 'cycle_start') end
            -- Plan credits of another cycle than the hold's cannot be booked on its entry: then top-up only.
            local plan = 0
            if redis.call('HGET', KEYS[1], 'cycle_start') == cycle then plan = math.max(0, tonumber(redis.call('HGET', KEYS[1], 'plan'))) end
            local topup = math.max(0, tonumber(redis.call('HGET', KEYS[1], 'topup')))
            local from_plan = math.min(excess, plan)
            local from_topup = math.min(excess - from_plan, topup)
            redis.call('HINCRBY', KEYS[1], 'plan', int(-from_plan))
            redis.call('HINCRBY', KEYS[1], 'topup', int(-from_topup))
            plan_charge = plan_charge + from_plan
            topup_charge = topup_charge + from_topup
            shortfall = excess - from_plan - from_topup
          end
        end
        redis.call('HSET', KEYS[2], ARGV[1], 'settled|' .. int(plan_charge) .. '|' .. int(topup_charge) .. '|' .. cycle)
        redis.call('ZADD', KEYS[3], now + tonumber(ARGV[5]), ARGV[4])
        if plan_charge + topup_charge > 0 then redis.call('ZADD', KEYS[4], now, ARGV[4]) end
        redis.call('DEL', KEYS[5])
        return {status, int(plan_charge), int(topup_charge), cycle, int(shortfall)}
        """);

    // KEYS: balance, holds. ARGV: hold id, new total, now ms (ExtendHold.lua).
    private static readonly RedisScript ExtendHoldScript = new(SharedLua + CreditScripts.Read("ExtendHold.lua"));

    // Grants are recorded pending in Redis, then written to the ledger, then applied once (GrantIntent.lua, GrantApply.lua).
    private static readonly RedisScript GrantIntentScript = new(CreditScripts.Read("GrantIntent.lua"));

    private static readonly RedisScript GrantApplyScript = new(SharedLua + CreditScripts.GrantShared + CreditScripts.Read("GrantApply.lua"));

    // KEYS: balance, holds, hold expiry, ledger pending. ARGV: id, amount, now ms, member, record retention ms, first bucket (Clawback.lua).
    private static readonly RedisScript ClawbackScript = new(SharedLua + CreditScripts.Read("Clawback.lua"));

    // KEYS: balance. ARGV: now ms. Returns {'load'} or the balance fields.
    private static readonly RedisScript BalanceScript = new(SharedLua + """

        if redis.call('EXISTS', KEYS[1]) == 0 then return {'load'} end
        roll(KEYS[1], tonumber(ARGV[1]))
        local values = redis.call('HMGET', KEYS[1], 'plan_name', 'allocation', 'plan', 'topup', 'cycle_start', 'cycle_end')
        table.insert(values, 1, 'ok')
        return values
        """);

    // KEYS: holds, ledger pending. ARGV: user id. Returns the ids of the holds whose ledger entry is pending.
    private static readonly RedisScript PendingHoldsScript = new("""
        local pending = {}
        for _, hold in ipairs(redis.call('HKEYS', KEYS[1])) do
          if redis.call('ZSCORE', KEYS[2], ARGV[1] .. '|' .. hold) then table.insert(pending, hold) end
        end
        return pending
        """);

    // KEYS: balance, holds, ledger pending, grant records, pending grants. ARGV: plan, top-up, allocation, cycle start, cycle end,
    // anchor, cycle index, plan name, replace 0/1, user id, grant record retention s, n, m, held period 0/1, then n holds pending before the
    // ledger read that it did not have, then m holds pending after the read that it had, then the grants the read counted.
    // Returns 1 when loaded, 0 when a balance was already there (loaded concurrently) and replace is off.
    private static readonly RedisScript LoadScript = new(SharedLua + CreditScripts.GrantShared + """

        if ARGV[9] == '0' and redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
        local plan, topup = tonumber(ARGV[1]), tonumber(ARGV[2])
        local missed, in_ledger, counted = {}, {}, {}
        local n, m = tonumber(ARGV[12]), tonumber(ARGV[13])
        for i = 15, 14 + n do missed[ARGV[i]] = true end
        for i = 15 + n, 14 + n + m do in_ledger[ARGV[i]] = true end
        for i = 15 + n + m, #ARGV do counted[ARGV[i]] = true end
        -- Outstanding holds are not in the ledger yet: what they hold is not available. Nor are the charges
        -- of settled holds the ledger read did not have: pending then (even if written since) or pending now.
        local holds = redis.call('HGETALL', KEYS[2])
        for i = 1, #holds, 2 do
          local hold = holds[i]
          local state, held_plan, held_topup, cycle = parse(holds[i + 1])
          if state == 'held' or (state == 'settled' and (missed[hold]
              or (not in_ledger[hold] and redis.call('ZSCORE', KEYS[3], ARGV[10] .. '|' .. hold)))) then
            topup = topup - held_topup
            if cycle == ARGV[4] then plan = plan - held_plan end
          end
        end
        -- A pending grant the read counted is applied by this load (its own apply then finds it done). An applied
        -- grant the read did not count had its entry written after the read: the balance replaced here had it.
        local grants = redis.call('HGETALL', KEYS[4])
        for i = 1, #grants, 2 do
          local id = grants[i]
          local state, granted_plan, granted_topup, cycle, rest = grant_parse(grants[i + 1])
          if counted[id] then
            if state == 'pending' then grant_mark_done(KEYS[4], KEYS[5], ARGV[10], id, 'loaded', granted_plan, granted_topup, cycle, rest) end
          elseif state ~= 'pending' then
            topup = topup + tonumber(granted_topup)
            if cycle == ARGV[4] then plan = plan + tonumber(granted_plan) end
          end
        end
        grant_expire_when_settled(KEYS[4], ARGV[11])
        redis.call('DEL', KEYS[1])
        redis.call('HSET', KEYS[1], 'plan', int(math.max(0, plan)), 'topup', int(math.max(0, topup)), 'allocation', ARGV[3],
          'cycle_start', ARGV[4], 'cycle_end', ARGV[5], 'anchor', ARGV[6], 'cycle_index', ARGV[7], 'plan_name', ARGV[8], 'held_period', ARGV[14])
        return 1
        """);

    private CreditOptions Settings => options.Value;

    /// <summary>How long a hold lasts before the reaper voids it, unless a call asks for longer.</summary>
    public TimeSpan HoldTtl => Settings.HoldTtl;

    /// <summary>
    /// Holds <paramref name="units"/> (the worst case) before a model call: plan bucket first, then top-up,
    /// all or nothing. One round trip; a balance Redis does not have yet is rebuilt from Firestore first.
    /// </summary>
    public async Task<ReserveResult> ReserveAsync(string userId, long units, TimeSpan? holdTtl = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(units);
        var holdId = NewHoldId();
        var unenforced = new ReserveResult(ReserveStatus.Unenforced, new CreditReservation(userId, holdId, units, 0, 0, 0, Enforced: false), 0, units, "");
        return await guard.RunAsync(async () =>
        {
            var result = await TryReserveAsync(userId, holdId, units, holdTtl ?? Settings.HoldTtl);
            if (result is null)
            {
                await RebuildAsync(userId, replace: false, cancellationToken);
                result = await TryReserveAsync(userId, holdId, units, holdTtl ?? Settings.HoldTtl)
                    ?? throw new InvalidOperationException("The credit balance was loaded but is missing again.");
            }
            return result;
        }, unenforced, repeatable: true);
    }

    private async Task<ReserveResult?> TryReserveAsync(string userId, string holdId, long units, TimeSpan holdTtl)
    {
        var now = time.GetUtcNow();
        var reply = (RedisResult[])(await ReserveScript.EvaluateAsync(redis,
            [CreditKeys.Balance(userId), CreditKeys.Holds(userId), CreditKeys.HoldExpiry],
            [holdId, units, now.ToUnixTimeMilliseconds(), (now + holdTtl).ToUnixTimeMilliseconds(), CreditKeys.HoldMember(userId, holdId)]))!;
        return ReadReserveReply(userId, holdId, units, reply);
    }

    /// <summary>The reply of the Lua <c>reserve</c> (<see cref="ReserveLua"/>) from <paramref name="offset"/> on; null for <c>load</c>.</summary>
    internal static ReserveResult? ReadReserveReply(string userId, string holdId, long units, RedisResult[] reply, int offset = 0) =>
        (string?)reply[offset] switch
        {
            "load" => null,
            "short" => new ReserveResult(ReserveStatus.Insufficient, null, Long(reply[offset + 1]), units, (string?)reply[offset + 2] ?? ""),
            _ => new ReserveResult(ReserveStatus.Reserved,
                new CreditReservation(userId, holdId, units, Long(reply[offset + 1]), Long(reply[offset + 2]), Long(reply[offset + 3]), Enforced: true), 0, units, ""),
        };

    /// <summary>A new hold's id: unique, and never chosen by a client.</summary>
    internal static string NewHoldId() => "hold_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));

    /// <summary>
    /// Charges actual usage: the held credits first, the rest returned, anything beyond the hold from the
    /// balance (never below zero: a shortfall is logged). Idempotent: settling a hold
    /// again returns the first result and moves nothing. Redis first, in one round trip that also marks
    /// the ledger entry pending (and drops the cached usage report); the entry, whose id is the hold id,
    /// is then written in the background by <see cref="LedgerWriter"/>, and the reaper re-drives any entry
    /// that stays pending. Without Redis enforcing (unenforced, or a lost hold) there is no pending marker,
    /// so the ledger entry is written before this returns.
    /// When Redis cannot be reached (or stays too slow) the charge is not dropped: its ledger entry is written
    /// first, under the hold id, and the result is <see cref="SettleStatus.Deferred"/>; the caller then runs
    /// <see cref="CompleteDeferredSettleAsync"/> in the background. A process that dies before that finishes
    /// leaves the hold to the reaper, which finds the entry and settles the hold at its charge instead of voiding it.
    /// </summary>
    public async Task<SettleResult> SettleAsync(CreditReservation reservation, long actualUnits, string? model = null, string? requestId = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(actualUnits);
        if (!reservation.Enforced)
        {
            return await ChargeLedgerOnlyAsync(reservation, actualUnits, SettleStatus.Unenforced, model, requestId, cancellationToken);
        }

        RedisResult[]? reply;
        var attempts = 0;
        try
        {
            reply = await guard.RunAsync(async () =>
            {
                attempts++;
                return (RedisResult[]?)await EvaluateSettleAsync(reservation.UserId, reservation.HoldId, actualUnits);
            }, null, repeatable: true);
        }
        catch (RedisUnavailableException exception)
        {
            logger.LogWarning("Settle of hold {HoldId} for user {UserId} could not reach Redis ({Reason}); its charge goes to the ledger first",
                reservation.HoldId, reservation.UserId, exception.InnerException?.GetType().Name);
            reply = null;
        }
        if (reply is null)
        {
            return await ChargeLedgerFirstAsync(reservation, actualUnits, model, requestId);
        }
        return await ReadSettleReplyAsync(reservation, actualUnits, reply, model, requestId, retried: attempts > 1, cancellationToken);
    }

    private async Task<RedisResult[]> EvaluateSettleAsync(string userId, string holdId, long actualUnits)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        return (RedisResult[])(await SettleScript.EvaluateAsync(redis,
            [CreditKeys.Balance(userId), CreditKeys.Holds(userId), CreditKeys.HoldExpiry, CreditKeys.LedgerPending, UsageReports.CacheKey(userId)],
            [holdId, actualUnits, now, CreditKeys.HoldMember(userId, holdId), (long)Settings.SettledHoldRetention.TotalMilliseconds]))!;
    }

    private async Task<SettleResult> ReadSettleReplyAsync(CreditReservation reservation, long actualUnits, RedisResult[] reply, string? model, string? requestId,
        bool retried, CancellationToken cancellationToken)
    {
        var userId = reservation.UserId;
        var status = SettleStatusOf(reply);
        if (status == SettleStatus.Lost)
        {
            return await SettleLostHoldAsync(reservation, actualUnits, balanceLoaded: (string?)reply[0] == "lost", model, requestId, cancellationToken);
        }

        var result = new SettleResult(status, Long(reply[1]), Long(reply[2]));
        if (Long(reply[4]) is > 0 and var shortfall)
        {
            logger.LogWarning("Settle of hold {HoldId} for user {UserId} cost {Cost} units, {Shortfall} more than the balance could cover; charged {Charged}",
                reservation.HoldId, userId, actualUnits, shortfall, result.ChargedUnits);
        }
        // A duplicate's entry was queued by the settle that charged it, unless that settle was this one's own attempt
        // whose reply a timeout lost: then it is queued now (a create of the hold id: it lands once).
        if (result.ChargedUnits > 0 && (status != SettleStatus.Duplicate || retried))
        {
            ledgerWriter.Enqueue(userId, reservation.HoldId, new LedgerEntry(LedgerEntryTypes.Charge, -result.PlanUnits, -result.TopupUnits, time.GetUtcNow(),
                DateTimeOffset.FromUnixTimeMilliseconds(Long(reply[3])), model, requestId));
            balanceWatch.Charged(userId);
        }
        return result;
    }

    /// <summary>
    /// The charge of a settle Redis could not take, as its ledger entry (id: the hold id) books it: the held parts as
    /// the settle script charges them, anything beyond them on the plan bucket (a rebuild spills an overdraft into top-up).
    /// </summary>
    private LedgerEntry DeferredEntry(CreditReservation reservation, long actualUnits, string? model, string? requestId)
    {
        var planCharge = Math.Min(actualUnits, reservation.PlanUnits);
        var topupCharge = Math.Min(actualUnits - planCharge, reservation.TopupUnits);
        planCharge = actualUnits - topupCharge;
        return new LedgerEntry(LedgerEntryTypes.Charge, -planCharge, -topupCharge, time.GetUtcNow(),
            DateTimeOffset.FromUnixTimeMilliseconds(reservation.CycleStartMs), model, requestId);
    }

    private async Task<SettleResult> ChargeLedgerFirstAsync(CreditReservation reservation, long actualUnits, string? model, string? requestId)
    {
        var entry = DeferredEntry(reservation, actualUnits, model, requestId);
        var inLedger = actualUnits == 0 || await TryAppendAsync(reservation, entry);
        return new SettleResult(inLedger ? SettleStatus.Deferred : SettleStatus.Undelivered, -entry.PlanDelta, -entry.TopupDelta);
    }

    private async Task<bool> TryAppendAsync(CreditReservation reservation, LedgerEntry entry)
    {
        try
        {
            // Create-if-absent: an entry already there under the hold id is this charge.
            await ledger.AppendAsync(reservation.UserId, reservation.HoldId, entry, CancellationToken.None);
            return true;
        }
        catch (Exception exception) when (exception is FirestoreException or HttpRequestException or TaskCanceledException)
        {
            logger.LogWarning("The ledger entry of hold {HoldId} for user {UserId} could not be written either ({Reason}); retrying",
                reservation.HoldId, reservation.UserId, exception.GetType().Name);
            return false;
        }
    }

    /// <summary>
    /// Finishes a settle that came back <see cref="SettleStatus.Deferred"/> or <see cref="SettleStatus.Undelivered"/>: runs
    /// the settle script again (idempotent by hold id) until Redis takes it, writing the ledger entry meanwhile if
    /// it is not there yet. Stops when <paramref name="stopping"/> fires (shutdown): the entry in the ledger
    /// lets the reaper of any instance settle the hold at its charge. Never throws.
    /// </summary>
    public async Task CompleteDeferredSettleAsync(CreditReservation reservation, long actualUnits, string? model, string? requestId, bool inLedger,
        CancellationToken stopping)
    {
        var delay = TimeSpan.FromMilliseconds(200);
        var entry = DeferredEntry(reservation, actualUnits, model, requestId);
        while (true)
        {
            try
            {
                var reply = await EvaluateSettleAsync(reservation.UserId, reservation.HoldId, actualUnits);
                // A duplicate not in the ledger was settled by an attempt of this call whose reply was lost: its entry is queued.
                var result = await ReadSettleReplyAsync(reservation, actualUnits, reply, model, requestId, retried: !inLedger, CancellationToken.None);
                if (inLedger && result.Status == SettleStatus.Duplicate)
                {
                    // Settled by the timed-out script itself, or by a rebuild or reaper from the entry: the entry is written.
                    await LedgerWriter.ConfirmWrittenAsync(redis, [CreditKeys.HoldMember(reservation.UserId, reservation.HoldId)],
                        time.GetUtcNow() + Settings.SettledHoldRetention);
                }
                logger.LogInformation("The deferred settle of hold {HoldId} for user {UserId} reached Redis: {Status}, {Charged} units",
                    reservation.HoldId, reservation.UserId, result.Status, result.ChargedUnits);
                return;
            }
            catch (Exception exception) when (RedisGuard.IsOutage(exception) || exception is FirestoreException or HttpRequestException)
            {
                if (!inLedger && actualUnits > 0)
                {
                    inLedger = await TryAppendAsync(reservation, entry);
                }
            }
            catch (Exception exception)
            {
                logger.LogError(exception, "The deferred settle of hold {HoldId} for user {UserId} failed", reservation.HoldId, reservation.UserId);
                return;
            }
            try
            {
                await Task.Delay(delay, time, stopping);
            }
            catch (OperationCanceledException)
            {
                if (!inLedger && actualUnits > 0 && !await TryAppendAsync(reservation, entry))
                {
                    logger.LogError("Stopped with the charge of hold {HoldId} for user {UserId} ({Units} units) in neither Redis nor the ledger; the reaper will void the hold",
                        reservation.HoldId, reservation.UserId, actualUnits);
                }
                return;
            }
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 5_000));
        }
    }

    /// <summary>
    /// Settles a hold that is still held at the charge of its ledger entry (written first by a settle that could not
    /// reach Redis), and clears the entry's pending marker at once, since the entry is there. The reaper does this
    /// instead of voiding such a hold, and a rebuild before counting the ledger, so the charge is counted once.
    /// </summary>
    internal async Task<SettleStatus> SettleFromLedgerAsync(string userId, string holdId, LedgerEntry entry)
    {
        var reply = await EvaluateSettleAsync(userId, holdId, -(entry.PlanDelta + entry.TopupDelta));
        await LedgerWriter.ConfirmWrittenAsync(redis, [CreditKeys.HoldMember(userId, holdId)], time.GetUtcNow() + Settings.SettledHoldRetention);
        return SettleStatusOf(reply);
    }

    /// <summary>The status word of the settle script's reply; <c>lost</c> and <c>lost_unloaded</c> are both <see cref="SettleStatus.Lost"/>.</summary>
    private static SettleStatus SettleStatusOf(RedisResult[] reply) => (string?)reply[0] switch
    {
        "settled" => SettleStatus.Settled,
        "duplicate" => SettleStatus.Duplicate,
        "late" => SettleStatus.Late,
        _ => SettleStatus.Lost,
    };

    /// <summary>The user's holds still held whose charge is already in the ledger (one batch read), settled at that charge.</summary>
    private async Task SettleChargedHoldsAsync(string userId, CancellationToken cancellationToken)
    {
        var held = (await redis.HashGetAllAsync(CreditKeys.Holds(userId)))
            .Where(h => ((string?)h.Value)?.StartsWith("held|", StringComparison.Ordinal) == true).Select(h => (string)h.Name!).ToList();
        if (held.Count == 0)
        {
            return;
        }
        foreach (var (hold, (entry, _)) in await ledger.GetEntriesAsync(userId, held, cancellationToken))
        {
            if (entry.Type == LedgerEntryTypes.Charge)
            {
                await SettleFromLedgerAsync(userId, hold, entry);
            }
        }
    }

    /// <summary>
    /// Raises a hold that is still held to <paramref name="totalUnits"/> (plan bucket first, all or nothing) before a
    /// fallback to a pricier model. Null when the balance cannot cover the difference, the hold is no longer held,
    /// or Redis cannot be reached: then the fallback is not tried. Idempotent (the total is the argument).
    /// </summary>
    public async Task<CreditReservation?> ExtendAsync(CreditReservation reservation, long totalUnits, CancellationToken cancellationToken = default)
    {
        var userId = reservation.UserId;
        try
        {
            var reply = await guard.RunAsync(async () => (RedisResult[]?)await ExtendHoldScript.EvaluateAsync(redis,
                [CreditKeys.Balance(userId), CreditKeys.Holds(userId)], [reservation.HoldId, totalUnits, time.GetUtcNow().ToUnixTimeMilliseconds()]), null, repeatable: true);
            if (reply is null || (string?)reply[0] != "ok")
            {
                return null;
            }
            return reservation with { Units = totalUnits, PlanUnits = Long(reply[1]), TopupUnits = Long(reply[2]) };
        }
        catch (RedisUnavailableException)
        {
            return null;
        }
    }

    /// <summary>
    /// Redis lost the hold (a flush or failover after the reserve). If the balance is gone too, the next
    /// reserve rebuilds it from the ledger, so the charge goes to the ledger alone and is counted then.
    /// If a balance was already rebuilt, the hold was never in it: charging the ledger now would make
    /// the ledger and Redis disagree, so this one request goes unbilled (bounded by the calls in flight
    /// when Redis lost its data) and is logged.
    /// </summary>
    private async Task<SettleResult> SettleLostHoldAsync(CreditReservation reservation, long charge, bool balanceLoaded, string? model, string? requestId,
        CancellationToken cancellationToken)
    {
        if (!balanceLoaded)
        {
            var planCharge = Math.Min(charge, reservation.PlanUnits);
            var entry = new LedgerEntry(LedgerEntryTypes.Charge, -planCharge, -(charge - planCharge), time.GetUtcNow(),
                DateTimeOffset.FromUnixTimeMilliseconds(reservation.CycleStartMs), model, requestId);
            if (charge > 0)
            {
                await ledger.AppendAsync(reservation.UserId, reservation.HoldId, entry, cancellationToken);
            }
            ForgetUsageReport(reservation.UserId);
            return new SettleResult(SettleStatus.Lost, planCharge, charge - planCharge);
        }
        logger.LogWarning("Settle of hold {HoldId} for user {UserId} found no hold in Redis; the usage is not billed", reservation.HoldId, reservation.UserId);
        ForgetUsageReport(reservation.UserId);
        return new SettleResult(SettleStatus.Lost, 0, 0);
    }

    private async Task<SettleResult> ChargeLedgerOnlyAsync(CreditReservation reservation, long charge, SettleStatus status, string? model, string? requestId,
        CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var cycle = (await ledger.GetOrCreateProfileAsync(reservation.UserId, cancellationToken)).CycleAt(now);
        if (charge > 0)
        {
            // The split between buckets is unknown without Redis: it is booked to the plan bucket, and a
            // rebuild spills any overdraft into top-up.
            await ledger.AppendAsync(reservation.UserId, reservation.HoldId,
                new LedgerEntry(LedgerEntryTypes.Charge, -charge, 0, now, cycle.Start, model, requestId, Unenforced: true), cancellationToken);
        }
        ForgetUsageReport(reservation.UserId);
        return new SettleResult(status, charge, 0);
    }

    /// <summary>
    /// Drops the cached usage report without waiting for Redis. The settle script drops it itself; the
    /// settles that never run the script, grants and refreshes drop it here.
    /// </summary>
    public void ForgetUsageReport(string userId)
    {
        try
        {
            redis.KeyDelete(UsageReports.CacheKey(userId), CommandFlags.FireAndForget);
        }
        catch (Exception exception) when (RedisGuard.IsOutage(exception))
        {
            // With Redis away there is no cached report to drop.
        }
    }

    /// <summary>
    /// Adds credits to a bucket, exactly once per <paramref name="grantId"/> whatever interleaves: the grant is
    /// recorded pending in Redis, its ledger entry written (the id is the entry's id), then the pending record is
    /// applied to the balance in one script that marks it applied. A rebuild that counted the entry marks it applied
    /// itself, so the apply finds nothing left to do; a grant whose apply never ran (a crash, an outage) is finished
    /// by a retry with the same id or by the reaper (<see cref="RedriveGrantsAsync"/>). Admin grants and top-ups
    /// (entry type <c>topup</c>) take this one path. <see cref="GrantResult.Conflict"/>: the id was used before for
    /// a different grant; <see cref="GrantResult.Duplicate"/>: an earlier call with this id applied it.
    /// </summary>
    public async Task<GrantResult> GrantAsync(string userId, CreditBucket bucket, long units, string grantId, string? reason,
        string entryType = LedgerEntryTypes.Grant, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(units);
        var now = CreditCycle.ToMilliseconds(time.GetUtcNow());
        var cycleStart = bucket == CreditBucket.Plan
            ? (await ledger.GetOrCreateProfileAsync(userId, cancellationToken)).CycleAt(now).Start
            : DateTimeOffset.UnixEpoch;
        var asked = new GrantRecord("pending", bucket == CreditBucket.Plan ? units : 0, bucket == CreditBucket.Topup ? units : 0, cycleStart, now,
            entryType, reason ?? "");
        var intent = await guard.RunAsync(async () => (RedisResult[]?)await GrantIntentScript.EvaluateAsync(redis,
            [CreditKeys.Grants(userId), CreditKeys.GrantsPending],
            [grantId, asked.Format(), CreditKeys.HoldMember(userId, grantId), now.ToUnixTimeMilliseconds()]), null);
        if (intent is null)
        {
            // Redis is down under `allow`: the ledger alone, which the next rebuild or refresh counts.
            var appended = await ledger.AppendAsync(userId, grantId, asked.Entry, cancellationToken);
            var conflict = !appended && !asked.SameGrant(await ledger.GetEntryAsync(userId, grantId, cancellationToken));
            return new GrantResult(grantId, units, Duplicate: !appended, Conflict: conflict);
        }

        var record = GrantRecord.Parse((string)intent[1]!);
        if (!asked.SameGrant(record.Entry))
        {
            return new GrantResult(grantId, units, Duplicate: true, Conflict: true);
        }
        if (record.State != "pending")
        {
            return new GrantResult(grantId, units, Duplicate: true, Conflict: false);
        }
        var finished = await FinishGrantAsync(userId, grantId, record, cancellationToken);
        var createdHere = (string?)intent[0] == "new";
        // A rebuild that counted the grant before its apply did this call's work when this call made the record.
        var duplicate = finished is GrantOutcome.Conflict or GrantOutcome.AlreadyApplied || (finished == GrantOutcome.Loaded && !createdHere);
        return new GrantResult(grantId, units, duplicate, Conflict: finished == GrantOutcome.Conflict);
    }

    /// <summary>
    /// Takes <paramref name="units"/> back once per <paramref name="entryId"/> (a refunded payment): from
    /// <paramref name="takeFirst"/>, then the other bucket, never below zero; what the balance lacks is recorded on the
    /// entry as its shortfall. Redis first, as a settle is (the ledger may never imply more than Redis holds): the
    /// script records the taking under the id and marks its entry pending, then the entry is written here; a crash in
    /// between leaves the entry to a retry with the same id or to the reaper. Redis unavailable: throws, nothing taken.
    /// </summary>
    public async Task<ClawbackResult> ClawbackAsync(string userId, string entryId, long units, CreditBucket takeFirst, string reason, string stripeId,
        CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(units);
        if (await ledger.GetEntryAsync(userId, entryId, cancellationToken) is { } written)
        {
            return new ClawbackResult(-written.PlanDelta, -written.TopupDelta, written.ShortfallUnits ?? 0, Duplicate: true);
        }
        var member = CreditKeys.HoldMember(userId, entryId);
        var reply = await guard.RunAsync(async () =>
        {
            var taken = await EvaluateClawbackAsync(userId, entryId, units, takeFirst, member);
            if ((string?)taken[0] == "load")
            {
                await RebuildAsync(userId, replace: false, cancellationToken);
                taken = await EvaluateClawbackAsync(userId, entryId, units, takeFirst, member);
            }
            return (RedisResult[]?)taken;
        }, null, repeatable: true) ?? throw new RedisUnavailableException(new InvalidOperationException("A refund cannot be taken back while Redis is unavailable."));
        var (plan, topup) = (Long(reply[1]), Long(reply[2]));
        var shortfall = units - plan - topup;
        var now = time.GetUtcNow();
        var entry = new LedgerEntry(LedgerEntryTypes.Refund, -plan, -topup, now, DateTimeOffset.FromUnixTimeMilliseconds(Long(reply[3])),
            Reason: reason, StripeId: stripeId, ShortfallUnits: shortfall > 0 ? shortfall : null);
        await ledger.AppendAsync(userId, entryId, entry, cancellationToken);
        await LedgerWriter.ConfirmWrittenAsync(redis, [member], now + Settings.SettledHoldRetention);
        ForgetUsageReport(userId);
        if (shortfall > 0)
        {
            logger.LogWarning("Refund {EntryId} of user {UserId} takes back {Units} units; the balance held {Taken}, the shortfall {Shortfall} is on the ledger",
                entryId, userId, units, plan + topup, shortfall);
        }
        return new ClawbackResult(plan, topup, shortfall, Duplicate: (string?)reply[0] == "duplicate");
    }

    private async Task<RedisResult[]> EvaluateClawbackAsync(string userId, string entryId, long units, CreditBucket takeFirst, string member) =>
        (RedisResult[])(await ClawbackScript.EvaluateAsync(redis,
            [CreditKeys.Balance(userId), CreditKeys.Holds(userId), CreditKeys.HoldExpiry, CreditKeys.LedgerPending],
            [entryId, units, time.GetUtcNow().ToUnixTimeMilliseconds(), member, (long)Settings.SettledHoldRetention.TotalMilliseconds,
                takeFirst == CreditBucket.Topup ? "topup" : "plan"]))!;

    /// <summary>
    /// Re-drives grants pending for longer than <paramref name="grace"/> (their caller crashed or gave up between the
    /// record and the apply): writes the ledger entry if it is missing, then applies it. Returns how many it applied.
    /// </summary>
    public async Task<int> RedriveGrantsAsync(TimeSpan grace, CancellationToken cancellationToken = default)
    {
        var before = (time.GetUtcNow() - grace).ToUnixTimeMilliseconds();
        var pending = await redis.SortedSetRangeByScoreAsync(CreditKeys.GrantsPending, double.NegativeInfinity, before, take: 200);
        var applied = 0;
        foreach (var member in pending)
        {
            var (userId, grantId) = CreditKeys.ParseHoldMember(member!);
            var value = await redis.HashGetAsync(CreditKeys.Grants(userId), grantId);
            var record = value.IsNull ? null : GrantRecord.Parse(value!);
            if (record is not { State: "pending" })
            {
                // Forgotten or done: nothing to apply (the scripts that finish a grant remove it themselves).
                await redis.SortedSetRemoveAsync(CreditKeys.GrantsPending, member);
                continue;
            }
            if (await FinishGrantAsync(userId, grantId, record, cancellationToken) is GrantOutcome.Applied)
            {
                applied++;
                logger.LogWarning("Applied grant {GrantId} for user {UserId}, left pending by the call that asked for it", grantId, userId);
            }
        }
        return applied;
    }

    private enum GrantOutcome
    {
        Applied,
        Loaded,
        AlreadyApplied,
        Conflict,
    }

    private async Task<GrantOutcome> FinishGrantAsync(string userId, string grantId, GrantRecord record, CancellationToken cancellationToken)
    {
        var mode = "apply";
        if (!await ledger.AppendAsync(userId, grantId, record.Entry, cancellationToken))
        {
            var existing = await ledger.GetEntryAsync(userId, grantId, cancellationToken);
            if (!record.SameGrant(existing))
            {
                // The id's entry is a different, older grant whose record Redis has forgotten: this record is void.
                await Task.WhenAll(redis.HashDeleteAsync(CreditKeys.Grants(userId), grantId),
                    redis.SortedSetRemoveAsync(CreditKeys.GrantsPending, CreditKeys.HoldMember(userId, grantId)));
                return GrantOutcome.Conflict;
            }
            if (existing!.CreatedAt != record.Entry.CreatedAt)
            {
                // Written under an earlier record, forgotten a retention after it was applied: applied long ago.
                mode = "counted";
            }
        }
        var status = (string?)await GrantApplyScript.EvaluateAsync(redis,
            [CreditKeys.Balance(userId), CreditKeys.Grants(userId), CreditKeys.GrantsPending],
            [userId, grantId, time.GetUtcNow().ToUnixTimeMilliseconds(), (long)Settings.FinishedHoldRetention.TotalSeconds, mode]);
        ForgetUsageReport(userId);
        return status switch
        {
            "applied" or "unloaded" => GrantOutcome.Applied,
            "loaded" => GrantOutcome.Loaded,
            _ => GrantOutcome.AlreadyApplied,
        };
    }

    /// <summary>The hot balance (one round trip), rebuilt first when Redis does not hold it; from the ledger when Redis is down under `allow`.</summary>
    public async Task<CreditBalance> GetBalanceAsync(string userId, CancellationToken cancellationToken = default)
    {
        var balance = await guard.RunAsync(async () =>
        {
            var loaded = await TryReadBalanceAsync(userId);
            if (loaded is null)
            {
                await RebuildAsync(userId, replace: false, cancellationToken);
                loaded = await TryReadBalanceAsync(userId);
            }
            return loaded;
        }, null);
        return balance ?? await ComputeFromLedgerAsync(userId, cancellationToken);
    }

    private async Task<CreditBalance?> TryReadBalanceAsync(string userId)
    {
        var reply = (RedisResult[])(await BalanceScript.EvaluateAsync(redis, [CreditKeys.Balance(userId)], [time.GetUtcNow().ToUnixTimeMilliseconds()]))!;
        if ((string?)reply[0] == "load")
        {
            return null;
        }
        return new CreditBalance((string?)reply[1] ?? "free", Long(reply[2]), Long(reply[3]), Long(reply[4]),
            DateTimeOffset.FromUnixTimeMilliseconds(Long(reply[5])), DateTimeOffset.FromUnixTimeMilliseconds(Long(reply[6])));
    }

    private async Task<CreditBalance> ComputeFromLedgerAsync(string userId, CancellationToken cancellationToken)
    {
        var ledgerBalance = await ledger.ReadBalanceAsync(userId, time.GetUtcNow(), [], cancellationToken);
        return new CreditBalance(ledgerBalance.Profile.Plan.WireName(), ledgerBalance.Profile.AllocationUnits, ledgerBalance.PlanUnits,
            Math.Max(0, ledgerBalance.TopupUnits), ledgerBalance.Cycle.Start, ledgerBalance.Cycle.End);
    }

    /// <summary>
    /// Loads the balance the ledger implies into Redis, minus what outstanding holds keep and what settled
    /// holds charged whose ledger entry is still pending (not in the ledger yet, or not known to be). Without
    /// <paramref name="replace"/> a balance that is already there wins (another instance loaded it a
    /// moment ago and may have moved it since); with it, the user document's plan and allocation are
    /// taken up again (<c>/credits/refresh</c>). True when this call loaded the balance.
    /// </summary>
    // Settled charges reach the ledger in the background, so the ledger read may lack some. The read is of the
    // ledger's sums (LedgerAggregates) and, in the same request, of the entries of the holds and grants Redis knows
    // pending: one moment's view, so what it says about an entry holds for the sums. Holds and grants that showed up
    // after the first look are checked afterwards against the read's time. Pending before or after the read and not
    // in it: subtracted even if written and confirmed before the load. In it and still marked pending (written, marker
    // not cleared yet): not subtracted again. Pending at the load otherwise: subtracted.
    // Known gap of replace: a hold settled after the second look whose entry is written and confirmed before the load
    // is in neither, so its charge is missed until the next rebuild (a window of one Redis and one Firestore round
    // trip, at most the requests settled in it).
    public async Task<bool> RebuildAsync(string userId, bool replace, CancellationToken cancellationToken = default)
    {
        // A hold still held whose charge is in the ledger (written first when its settle could not reach Redis) is settled at
        // that charge first, so the load neither subtracts it as outstanding nor lets a later settle release it into the balance.
        await SettleChargedHoldsAsync(userId, cancellationToken);
        var before = await PendingAsync(userId);
        var read = await ledger.ReadBalanceAsync(userId, time.GetUtcNow(), [.. before.Holds.Union(before.Grants)], cancellationToken);
        var after = await PendingAsync(userId);
        var counted = new HashSet<string>(read.Counted, StringComparer.Ordinal);
        var unseen = after.Holds.Union(after.Grants).Except(before.Holds).Except(before.Grants).ToList();
        if (unseen.Count > 0)
        {
            counted.UnionWith(await ledger.WrittenByAsync(userId, unseen, read.ReadTime, cancellationToken));
        }
        var missed = before.Holds.Union(after.Holds).Where(hold => !counted.Contains(hold)).ToList();
        var inLedger = after.Holds.Where(counted.Contains).ToList();
        // Grants recorded after the second look had their entry written after the read: not counted by it.
        var countedGrants = before.Grants.Union(after.Grants).Where(counted.Contains).ToList();
        var (profile, cycle) = (read.Profile, read.Cycle);
        var loaded = await LoadScript.EvaluateAsync(redis,
            [CreditKeys.Balance(userId), CreditKeys.Holds(userId), CreditKeys.LedgerPending, CreditKeys.Grants(userId), CreditKeys.GrantsPending],
        [
            read.PlanUnits, read.TopupUnits, profile.AllocationUnits, cycle.Start.ToUnixTimeMilliseconds(), cycle.End.ToUnixTimeMilliseconds(),
            profile.Anchor.ToUnixTimeMilliseconds(), cycle.Index, profile.Plan.WireName(), replace ? 1 : 0, userId,
            (long)Settings.FinishedHoldRetention.TotalSeconds, missed.Count, inLedger.Count, profile.HoldsPeriod ? 1 : 0,
            .. missed.Select(hold => (RedisValue)hold),
            .. inLedger.Select(hold => (RedisValue)hold),
            .. countedGrants.Select(grant => (RedisValue)grant),
        ]);
        return (int)loaded == 1;
    }

    /// <summary>The user's holds whose ledger entry is pending, and the ids of the grants Redis has records of (one round trip).</summary>
    private async Task<(List<string> Holds, List<string> Grants)> PendingAsync(string userId)
    {
        var holds = PendingHoldsScript.EvaluateAsync(redis, [CreditKeys.Holds(userId), CreditKeys.LedgerPending], [userId]);
        var grants = redis.HashKeysAsync(CreditKeys.Grants(userId));
        await Task.WhenAll(holds, grants);
        return ([.. ((RedisResult[])(await holds)!).Select(hold => (string)hold!)], [.. (await grants).Select(grant => (string)grant!)]);
    }

    /// <summary><c>/credits/refresh</c>: re-reads the user document and ledger into Redis.</summary>
    public async Task<CreditBalance> RefreshAsync(string userId, CancellationToken cancellationToken = default)
    {
        var refreshed = await guard.RunAsync(async () => await RebuildAsync(userId, replace: true, cancellationToken), false);
        return refreshed ? await GetBalanceAsync(userId, cancellationToken) : await ComputeFromLedgerAsync(userId, cancellationToken);
    }

    internal static long Long(RedisResult value) => long.Parse((string)value!, CultureInfo.InvariantCulture);
}
