using System.Collections.Concurrent;
using System.Globalization;
using Majestix.InferenceApi.Audit;
using Majestix.InferenceApi.Credits;
using Majestix.InferenceApi.Redis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Stripe;

namespace Majestix.InferenceApi.Billing;

internal enum AutoTopupResult
{
    NotEnabled,
    AboveThreshold,
    CoolingDown,
    DailyLimit,
    Locked,
    Refused,
    Charged,
    Failed,
    Unknown,
}

/// <summary>
/// Buys the user's chosen package when a settle leaves the balance below their threshold, in the background and never on
/// the request path: <c>auto_topup:lock:{uid}</c> (one at a time, left to expire, never released early), at most
/// <see cref="BillingOptions.AutoTopupsPerDay"/> a UTC day, a cooldown after a decline, and the monthly limit reserved in a
/// Firestore transaction before each charge (so it holds under concurrency and across instances). The off-session
/// PaymentIntent's idempotency key comes from the trigger (uid, UTC day, attempt) and is kept until its outcome is
/// known, so a lost answer is asked again under the same key rather than charged twice. Credits arrive only with
/// <c>payment_intent.succeeded</c>. A decline cools down, authentication required pauses (never retried off-session),
/// declines in a row turn it off.
/// </summary>
internal sealed class AutoTopup(
    BalanceWatch watch,
    StripeClient stripe,
    BillingStore store,
    BillingCatalog catalog,
    CreditStore credits,
    IDatabase redis,
    RedisGuard guard,
    AuditLog audit,
    IOptions<BillingOptions> options,
    TimeProvider time,
    ILogger<AutoTopup> logger) : BackgroundService
{
    public const string Kind = "auto_topup";

    private static readonly RedisScript Start = new(CreditScripts.Read("AutoTopupStart.lua"));

    private readonly ConcurrentDictionary<string, (BillingAccount? Account, long Until)> _accounts = new(StringComparer.Ordinal);

    private BillingOptions Settings => options.Value;

    public static RedisKey LockKey(string userId) => $"auto_topup:lock:{userId}";

    public static RedisKey DailyKey(string userId) => $"auto_topup:daily:{userId}";

    public static RedisKey CooldownKey(string userId) => $"auto_topup:cooldown:{userId}";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var userId in watch.ReadAllAsync(stoppingToken))
        {
            try
            {
                await TryTopUpAsync(userId, stoppingToken);
            }
            catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogError(exception, "Auto top-up for user {UserId} failed before a charge was made", userId);
            }
        }
    }

    /// <summary>Looks at one user whose balance just went down; charges them if every control allows it.</summary>
    public async Task<AutoTopupResult> TryTopUpAsync(string userId, CancellationToken cancellationToken)
    {
        var account = await AccountAsync(userId, cancellationToken);
        if (account?.AutoTopup is not { Enabled: true } settings || account.AutoTopupState?.PausedReason is not null || account.Card is null
            || catalog.TierNamed(settings.Tier) is not { } tier)
        {
            return AutoTopupResult.NotEnabled;
        }
        var balance = await credits.GetBalanceAsync(userId, cancellationToken);
        if (balance.TotalUnits >= CreditUnits.FromWholeCredits(settings.ThresholdCredits))
        {
            return AutoTopupResult.AboveThreshold;
        }
        var now = time.GetUtcNow();
        var endOfDay = new DateTimeOffset(now.UtcDateTime.Date.AddDays(1), TimeSpan.Zero);
        var started = (RedisResult[])(await guard.RunAsync(async () => (RedisResult?)await Start.EvaluateAsync(redis,
            [LockKey(userId), DailyKey(userId), CooldownKey(userId)],
            [Guid.NewGuid().ToString("N"), Settings.AutoTopupLockSeconds * 1_000L, Settings.AutoTopupsPerDay, endOfDay.ToUnixTimeMilliseconds()]), null)
            ?? throw new InvalidOperationException("Redis is unavailable: no auto top-up without its lock."))!;
        switch ((string?)started[0])
        {
            case "cooldown":
                return AutoTopupResult.CoolingDown;
            case "daily_limit":
                return AutoTopupResult.DailyLimit;
            case "locked":
                return AutoTopupResult.Locked;
        }

        // Decided on the account as it is now, not on this instance's copy: the card, the limit and the day's attempts.
        var charge = await store.UpdateAccountAsync(userId, current => Reserve(current, tier, now), cancellationToken);
        Forget(userId);
        if (charge.Refusal is { } refusal)
        {
            logger.LogInformation("Auto top-up for user {UserId} not made: {Reason}", userId, refusal);
            return AutoTopupResult.Refused;
        }
        return await ChargeAsync(userId, charge, tier, cancellationToken);
    }

    private sealed record Reservation(string? Key, long AmountCents, string? Refusal, string? CustomerId = null, string? PaymentMethodId = null);

    private (BillingAccount, Reservation) Reserve(BillingAccount account, TopupTier tier, DateTimeOffset now)
    {
        if (account.AutoTopup is not { Enabled: true } settings || account.Card is null || account.CustomerId is null)
        {
            return (account, new Reservation(null, 0, "auto top-up is off or has no card"));
        }
        var state = account.AutoTopupState ?? new AutoTopupState();
        if (state.PausedReason is not null)
        {
            return (account, new Reservation(null, 0, "auto top-up is paused"));
        }
        if (state.PendingKey is { } pending)
        {
            // The last attempt's outcome never came back: ask again under its key (Stripe answers with that payment).
            return (account, new Reservation(pending, state.PendingAmountCents, null, account.CustomerId, account.Card.PaymentMethodId));
        }
        if (state.LastOutcome == "charged" && state.LastOutcomeAt > now.AddMinutes(-Settings.AutoTopupAwaitCreditsMinutes))
        {
            return (account, new Reservation(null, 0, "the last top-up's credits have not arrived yet"));
        }
        var month = now.ToString("yyyy-MM", CultureInfo.InvariantCulture);
        var day = now.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        state = state with
        {
            Month = month,
            MonthSpentCents = state.Month == month ? state.MonthSpentCents : 0,
            Day = day,
            DayAttempts = state.Day == day ? state.DayAttempts : 0,
        };
        if (state.DayAttempts >= Settings.AutoTopupsPerDay)
        {
            return (account, new Reservation(null, 0, "the day's auto top-ups are used"));
        }
        if (state.MonthSpentCents + tier.AmountCents > settings.MonthlyLimitUsd * 100)
        {
            var limited = state with
            {
                LastOutcome = "monthly_limit",
                LastOutcomeReason = $"The monthly limit of ${settings.MonthlyLimitUsd} would be exceeded; auto top-up resumes next month.",
                LastOutcomeAt = now,
            };
            return (account with { AutoTopupState = limited }, new Reservation(null, 0, "the monthly limit is reached"));
        }
        var attempt = state.DayAttempts + 1;
        var key = $"autotopup:{account.UserId}:{day}:{attempt}";
        var reserved = state with
        {
            DayAttempts = attempt,
            MonthSpentCents = state.MonthSpentCents + tier.AmountCents,
            PendingKey = key,
            PendingAmountCents = tier.AmountCents,
        };
        return (account with { AutoTopupState = reserved }, new Reservation(key, tier.AmountCents, null, account.CustomerId, account.Card.PaymentMethodId));
    }

    private async Task<AutoTopupResult> ChargeAsync(string userId, Reservation charge, TopupTier tier, CancellationToken cancellationToken)
    {
        var key = charge.Key!;
        try
        {
            var intent = await stripe.V1.PaymentIntents.CreateAsync(new PaymentIntentCreateOptions
            {
                Amount = charge.AmountCents,
                Currency = "usd",
                Customer = charge.CustomerId,
                PaymentMethod = charge.PaymentMethodId,
                OffSession = true,
                Confirm = true,
                Description = $"Majestix auto top-up: {tier.Credits:N0} credits",
                Metadata = new Dictionary<string, string>
                {
                    ["kind"] = Kind,
                    ["uid"] = userId,
                    ["tier"] = tier.Name,
                    ["credits"] = tier.Credits.ToString(CultureInfo.InvariantCulture),
                    ["attempt_key"] = key,
                },
            }, new RequestOptions { IdempotencyKey = key }, cancellationToken);
            await store.UpdateAccountAsync(userId, account => account with { AutoTopupState = Charged(account.AutoTopupState ?? new AutoTopupState(), intent.Id, key) },
                cancellationToken);
            Forget(userId);
            logger.LogInformation("Auto top-up for user {UserId}: payment {IntentId} {Status}", userId, intent.Id, intent.Status);
            return AutoTopupResult.Charged;
        }
        catch (StripeException exception) when (exception.StripeError?.Type == "card_error")
        {
            var error = exception.StripeError;
            await RecordFailureAsync(userId, error.PaymentIntent?.Id ?? key, key, error.Code, error.DeclineCode, cancellationToken);
            return AutoTopupResult.Failed;
        }
        catch (StripeException exception) when (exception.HttpStatusCode is >= System.Net.HttpStatusCode.BadRequest and < System.Net.HttpStatusCode.InternalServerError)
        {
            // Stripe refused the request itself (a detached card, a deleted customer): asking again would fail the same way.
            await RecordFailureAsync(userId, key, key, exception.StripeError?.Code ?? "invalid_request", null, cancellationToken, pause: true);
            return AutoTopupResult.Failed;
        }
        catch (Exception exception) when (exception is StripeException or HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            // Unknown outcome: the key stays pending, so the next attempt asks Stripe again under it and cannot charge twice.
            logger.LogWarning(exception, "Auto top-up for user {UserId} under key {Key} has no answer from Stripe; the next attempt asks again", userId, key);
            return AutoTopupResult.Unknown;
        }
    }

    /// <summary>Stripe took the charge: its key is settled; unless its credits already arrived (the webhook was faster), they are awaited.</summary>
    private AutoTopupState Charged(AutoTopupState state, string intentId, string key)
    {
        var settled = state with { PendingKey = state.PendingKey == key ? null : state.PendingKey };
        return state.LastOutcome == "succeeded" && state.LastIntentId == intentId
            ? settled
            : settled with
            {
                LastIntentId = intentId,
                LastOutcome = "charged",
                LastOutcomeReason = "Charged; the credits arrive with Stripe's confirmation.",
                LastOutcomeAt = time.GetUtcNow(),
            };
    }

    /// <summary><c>payment_intent.succeeded</c> of an auto top-up (after its grant): the declines in a row end, the outcome is shown.</summary>
    public async Task RecordSucceededAsync(string userId, string intentId, string? key, CancellationToken cancellationToken)
    {
        await store.UpdateAccountAsync(userId, account =>
        {
            var state = account.AutoTopupState ?? new AutoTopupState();
            return account with
            {
                AutoTopupState = state with
                {
                    PendingKey = key is not null && state.PendingKey == key ? null : state.PendingKey,
                    ConsecutiveDeclines = 0,
                    LastIntentId = intentId,
                    LastOutcome = "succeeded",
                    LastOutcomeReason = null,
                    LastOutcomeAt = time.GetUtcNow(),
                },
            };
        }, cancellationToken);
        Forget(userId);
    }

    /// <summary>
    /// A failed auto top-up, from the 402 of the charge or from <c>payment_intent.payment_failed</c>, whichever comes first:
    /// counted once per payment intent. The month's reservation is given back.
    /// </summary>
    public async Task RecordFailureAsync(string userId, string intentId, string? key, string? code, string? declineCode,
        CancellationToken cancellationToken, bool pause = false)
    {
        var authentication = code == "authentication_required";
        var outcome = await store.UpdateAccountAsync(userId, account =>
        {
            var state = account.AutoTopupState ?? new AutoTopupState();
            if (state.SettledIntents?.Contains(intentId) == true)
            {
                return (account, ((bool Disabled, bool CoolDown)?)null);
            }
            var declines = authentication || pause ? state.ConsecutiveDeclines : state.ConsecutiveDeclines + 1;
            var disabled = !authentication && !pause && declines >= Settings.AutoTopupDeclinesUntilDisabled;
            var paused = authentication
                ? "Your bank asked to authenticate this card, which cannot be done off-session. Make a top-up in the app or update the card, then turn auto top-up on again."
                : pause ? $"Stripe refused the auto top-up ({code}). Update the card, then turn auto top-up on again."
                : disabled ? $"Auto top-up was turned off after {declines} declined charges in a row. Update the card, then turn it on again."
                : state.PausedReason;
            var released = key is not null && state.PendingKey == key;
            var changed = state with
            {
                PendingKey = released ? null : state.PendingKey,
                MonthSpentCents = released ? Math.Max(0, state.MonthSpentCents - state.PendingAmountCents) : state.MonthSpentCents,
                ConsecutiveDeclines = declines,
                PausedReason = paused,
                LastIntentId = intentId,
                LastOutcome = authentication ? "authentication_required" : "declined",
                LastOutcomeReason = declineCode ?? code,
                LastOutcomeAt = time.GetUtcNow(),
                SettledIntents = [.. (state.SettledIntents ?? []).TakeLast(19), intentId],
            };
            var settings = disabled && account.AutoTopup is { } current ? current with { Enabled = false } : account.AutoTopup;
            return (account with { AutoTopupState = changed, AutoTopup = settings }, (disabled, !authentication && !pause));
        }, cancellationToken);
        Forget(userId);
        if (outcome is not { } counted)
        {
            return;
        }
        if (counted.CoolDown)
        {
            await guard.RunAsync(async () => await redis.StringSetAsync(CooldownKey(userId), intentId, TimeSpan.FromSeconds(Settings.AutoTopupCooldownSeconds)), false);
        }
        audit.Record(BillingAuditEvents.PaymentFailed, null, userId: userId, reason: authentication ? "auto_topup_authentication_required" : "auto_topup_declined",
            details: new Dictionary<string, string> { ["stripe_id"] = intentId, ["code"] = code ?? "", ["disabled"] = counted.Disabled ? "true" : "false" });
        logger.LogWarning("Auto top-up for user {UserId} failed ({Code}/{DeclineCode}); disabled: {Disabled}", userId, code, declineCode, counted.Disabled);
    }

    /// <summary>The user's account as this instance last read it (for at most the settings cache time).</summary>
    private async Task<BillingAccount?> AccountAsync(string userId, CancellationToken cancellationToken)
    {
        var now = time.GetTimestamp();
        if (_accounts.TryGetValue(userId, out var cached) && cached.Until > now)
        {
            return cached.Account;
        }
        var account = await store.GetAccountAsync(userId, cancellationToken);
        _accounts[userId] = (account, now + (long)(Settings.AutoTopupSettingsCacheSeconds * (double)time.TimestampFrequency));
        return account;
    }

    /// <summary>The user turned auto top-up on again: a decline's cooldown no longer applies.</summary>
    public async Task ClearCooldownAsync(string userId) =>
        await guard.RunAsync(async () => await redis.KeyDeleteAsync(CooldownKey(userId)), false);

    /// <summary>Drops this instance's copy of the user's account (after a change here).</summary>
    public void Forget(string userId) => _accounts.TryRemove(userId, out _);
}
