using Majestix.InferenceApi.Credits;
using Majestix.InferenceApi.Identity;
using Majestix.InferenceApi.Inference.Catalog;
using Majestix.InferenceApi.Inference.Providers;
using Majestix.InferenceApi.UsageEvents;

namespace Majestix.InferenceApi.Inference;

/// <summary>Why a model call could not start: the status and <c>{"detail"}</c> the client gets.</summary>
internal sealed record CallRefusal(int StatusCode, string Detail, ReserveResult? QuotaRefusal = null);

/// <summary>The credits held for a call; a fallback to a pricier model raises the hold (<see cref="CreditStore.ExtendAsync"/>).</summary>
internal sealed class CallHold(CreditReservation? reservation)
{
    public CreditReservation? Reservation { get; set; } = reservation;
}

/// <summary>A started call: the run to read, the credits held for it, and how the model was chosen.</summary>
internal sealed record StartedCall(ModelRun Run, CallHold Hold, bool Routed, CallerContext Caller, string Endpoint, bool Streamed, UsageStopwatch Watch)
{
    public CreditReservation? Reservation => Hold.Reservation;

    /// <summary>The agent task a call made for the executor belongs to (usage events name it).</summary>
    public string? AgentTaskId { get; init; }

    /// <summary>The model that answered (a fallback's when one took over), else the one asked for.</summary>
    public ModelEntry ServedModel => Run.ServedBy ?? Run.Requested;

    /// <summary>The provider's usage, or the output counted so far when it reported none (a cut stream).</summary>
    public Usage UsedTokens => Run.Usage ?? new Usage(0, 0, UsageSource.Counted);
}

/// <summary>
/// A non-streamed call after it was read: the response, or the failure that left nothing to answer with,
/// or neither when the client left first. The charge is there when the call was settled before the answer.
/// </summary>
internal sealed record CollectedCall(ModelResponse? Response, CallCharge? Charge, ProviderFailureException? Failure);

/// <summary>What the caller is charged once the call is over.</summary>
internal sealed record CallCharge(ModelEntry Model, Usage Usage, long ChargedUnits)
{
    public decimal Credits => CreditUnits.ToCredits(ChargedUnits);
}

/// <summary>
/// The billing envelope around every model call: choose the model the plan allows, hold the worst
/// case, run with fallback, and settle at what was actually used. Every endpoint that calls a model
/// goes through here, so no path can skip the reservation.
/// </summary>
internal sealed class ModelCall(ModelCatalog catalog, ModelRouter router, FallbackRunner runner, TokenCounter counter, CreditStore credits,
    UsageLog usage, BackgroundSettles backgroundSettles, TimeProvider time)
{
    // The provider's tokenizer may count the prompt a little higher than o200k does.
    private const double InputEstimateMargin = 1.1;

    public async Task<(StartedCall? Call, CallRefusal? Refusal)> StartAsync(
        CallerContext caller, string billedUserId, string endpoint, bool streamed, string? requestedModel, Func<ModelEntry, ModelRequest> buildRequest,
        bool requireTools, CancellationToken cancellationToken)
    {
        var watch = UsageStopwatch.StartNew(time);
        ModelEntry model;
        var routed = requestedModel is null;
        if (requestedModel is null)
        {
            var probe = buildRequest(catalog.AllowedFor(caller.Plan)[0]);
            model = router.Choose(probe, caller.Plan, requireTools).Model;
        }
        else if (catalog.Find(requestedModel) is not { Enabled: true } found)
        {
            return (null, new CallRefusal(StatusCodes.Status400BadRequest, $"Unknown model '{requestedModel}'. GET /models lists the models your plan can use."));
        }
        else if (PlanRefusal(found, caller) is { } refusal)
        {
            return (null, refusal);
        }
        else
        {
            model = found;
        }

        var request = buildRequest(model);
        var inputTokens = counter.CountInput(request, cancellationToken);
        if (ContextRefusal(model, request, inputTokens) is { } tooLong)
        {
            return (null, tooLong);
        }
        var worstCase = WorstCase(model, request, inputTokens);
        var reservation = await credits.ReserveAsync(billedUserId, worstCase, cancellationToken: cancellationToken);
        return Start(caller, model, request, reservation, routed, endpoint, streamed, watch, cancellationToken);
    }

    /// <summary>
    /// As the overload for a known caller, for an endpoint that lets an API key's gate ride with the call's
    /// credit hold (<see cref="GateTicket"/>): with a model named in the body, the worst case is priced
    /// first and held in the gate's Redis trip, one round trip instead of two. A call the gate refuses is
    /// answered by it: then neither a call nor a refusal comes back.
    /// </summary>
    public async Task<(StartedCall? Call, CallRefusal? Refusal)> StartAsync(
        GateTicket ticket, string endpoint, bool streamed, string? requestedModel, Func<ModelEntry, ModelRequest> buildRequest,
        bool requireTools, CancellationToken cancellationToken)
    {
        // A routed call's model, and so its worst case, depends on the plan: the gate runs first.
        if (!ticket.IsPending || requestedModel is null || catalog.Find(requestedModel) is not { Enabled: true } model)
        {
            return await ticket.ResolveAsync() is { } known
                ? await StartAsync(known, known.UserId!, endpoint, streamed, requestedModel, buildRequest, requireTools, cancellationToken)
                : (null, null);
        }

        var watch = UsageStopwatch.StartNew(time);
        var request = buildRequest(model);
        var inputTokens = counter.CountInput(request, cancellationToken);
        if (ContextRefusal(model, request, inputTokens) is { } tooLong)
        {
            // The gate decides first who is asking: a stranger learns nothing about the body.
            return await ticket.ResolveAsync() is null ? (null, null) : (null, tooLong);
        }
        var worstCase = WorstCase(model, request, inputTokens);
        var (caller, held) = await ticket.ResolveWithHoldAsync(new HoldRequest(worstCase, credits.HoldTtl, catalog.PlansAllowed(model)));
        var refusal = caller is null ? null : PlanRefusal(model, caller);
        if (caller is null || refusal is not null)
        {
            // Only a key that expired between the gate's check and this process's can be refused after a hold.
            if (held?.Reservation is { } orphan)
            {
                await credits.SettleAsync(orphan, 0, cancellationToken: CancellationToken.None);
            }
            return (null, refusal);
        }
        var reservation = held ?? await credits.ReserveAsync(caller.UserId!, worstCase, cancellationToken: cancellationToken);
        return Start(caller, model, request, reservation, routed: false, endpoint, streamed, watch, cancellationToken);
    }

    private static CallRefusal? PlanRefusal(ModelEntry model, CallerContext caller) =>
        ModelCatalog.IsAllowed(model, caller.Plan)
            ? null
            : new CallRefusal(StatusCodes.Status403Forbidden, $"Model '{model.Key}' is not available on the {caller.Plan.WireName()} plan.");

    /// <summary>The most a call of <paramref name="request"/> to <paramref name="model"/> can cost: what is held for it.</summary>
    internal long WorstCase(ModelEntry model, ModelRequest request, CancellationToken cancellationToken = default) =>
        WorstCase(model, request, counter.CountInput(request, cancellationToken));

    private static long WorstCase(ModelEntry model, ModelRequest request, int inputTokens) =>
        CreditPrice.ForTokens(model.InputUsdPerMillion, model.OutputUsdPerMillion,
            (long)Math.Ceiling(inputTokens * InputEstimateMargin), OutputLimit(model, request));

    /// <summary>The output limit the model is sent (<see cref="FallbackRunner"/> clamps it the same way).</summary>
    private static int OutputLimit(ModelEntry model, ModelRequest request) => Math.Clamp(request.MaxTokens, 1, model.MaxOutputTokens);

    /// <summary>Whether the input and the output limit fit the model's context window; the provider would refuse the call otherwise.</summary>
    internal static bool FitsContext(ModelEntry model, ModelRequest request, int inputTokens) =>
        (long)inputTokens + OutputLimit(model, request) <= model.ContextWindow;

    private static CallRefusal? ContextRefusal(ModelEntry model, ModelRequest request, int inputTokens) =>
        FitsContext(model, request, inputTokens)
            ? null
            : new CallRefusal(StatusCodes.Status400BadRequest,
                $"The input ({inputTokens} tokens) plus max_tokens ({OutputLimit(model, request)}) exceeds the {model.ContextWindow}-token context window of model '{model.Key}'.");

    private (StartedCall? Call, CallRefusal? Refusal) Start(CallerContext caller, ModelEntry model, ModelRequest request, ReserveResult reservation,
        bool routed, string endpoint, bool streamed, UsageStopwatch watch, CancellationToken cancellationToken)
    {
        if (reservation.Status == ReserveStatus.Insufficient)
        {
            return (null, new CallRefusal(StatusCodes.Status402PaymentRequired, "Insufficient credits.", reservation));
        }
        var hold = new CallHold(reservation.Reservation);
        var run = runner.Start(model.Key, caller.Plan, request, cancellationToken,
            (fallback, fallbackRequest, token) => HoldForFallbackAsync(hold, fallback, fallbackRequest, token));
        return (new StartedCall(run, hold, routed, caller, endpoint, streamed, watch), null);
    }

    /// <summary>
    /// Before a fallback: raises the hold to that model's worst case when it is higher, so a pricier fallback is
    /// covered like the model asked for. False skips the fallback: its worst case is more than the balance can
    /// hold, its context window cannot take the request, or the hold could not be raised.
    /// </summary>
    private async ValueTask<bool> HoldForFallbackAsync(CallHold hold, ModelEntry model, ModelRequest request, CancellationToken cancellationToken)
    {
        var inputTokens = counter.CountInput(request, cancellationToken);
        if (!FitsContext(model, request, inputTokens))
        {
            return false;
        }
        if (hold.Reservation is not { Enforced: true } held)
        {
            // Redis not enforcing: the settle charges the served model's price in the ledger alone.
            return true;
        }
        var worstCase = WorstCase(model, request, inputTokens);
        if (worstCase <= held.Units)
        {
            return true;
        }
        var raised = await credits.ExtendAsync(held, worstCase, cancellationToken);
        if (raised is null)
        {
            return false;
        }
        hold.Reservation = raised;
        return true;
    }

    /// <summary>
    /// Reads a non-streamed call to its end and settles it on every way out; endpoints only write the
    /// answer (the streaming counterpart is <see cref="StreamPump"/>). With <see cref="Settlement.Background"/>
    /// the settle is under way when this returns and the result carries no charge.
    /// </summary>
    public async Task<CollectedCall> CollectAsync(StartedCall call, HttpContext context, Settlement settlement = Settlement.BeforeAnswer)
    {
        ModelResponse? response = null;
        ProviderFailureException? failure = null;
        UsageOutcome outcome;
        try
        {
            response = await call.Run.CollectAsync(context.RequestAborted);
            outcome = response.Failure is { } failed ? UsageOutcome.ProviderFailed(failed) : UsageOutcome.Ok;
        }
        catch (ProviderFailureException exception)
        {
            failure = exception;
            outcome = UsageOutcome.ProviderFailed(exception);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            outcome = UsageOutcome.Cancelled;
        }

        return new CollectedCall(response, await SettleAsync(call, context, outcome, settlement), failure);
    }

    /// <summary>
    /// Settles as <paramref name="settlement"/> says: awaited, returning the charge, or started (its Redis
    /// script issued before this returns) and left to <see cref="BackgroundSettles"/>, which logs a failure
    /// and holds shutdown until it is done; then there is no charge to return.
    /// </summary>
    public async Task<CallCharge?> SettleAsync(StartedCall call, HttpContext context, UsageOutcome outcome, Settlement settlement)
    {
        if (settlement == Settlement.BeforeAnswer)
        {
            return await SettleAsync(call, context, outcome);
        }
        backgroundSettles.Track(SettleAsync(call, context, outcome), context.TraceIdentifier);
        return null;
    }

    /// <summary>
    /// Charges what the serving model used (provider usage, or counted output when a stream was cut),
    /// in full, even beyond what was held. Runs even when the client has gone: the tokens were produced. Reads the
    /// context only before its first await, so it may outlive the request (<see cref="Settlement.Background"/>).
    /// </summary>
    public async Task<CallCharge> SettleAsync(StartedCall call, HttpContext context, UsageOutcome outcome)
    {
        var requestId = context.TraceIdentifier;
        var model = call.Run.BilledModel;
        var used = call.UsedTokens;
        var cost = CreditPrice.ForTokens(model.InputUsdPerMillion, model.OutputUsdPerMillion, used.InputTokens, used.OutputTokens);
        var charged = cost;
        if (call.Reservation is { } reservation)
        {
            var settled = await credits.SettleAsync(reservation, cost, model.Key, requestId, CancellationToken.None);
            charged = settled.Status == SettleStatus.Unenforced ? cost : settled.ChargedUnits;
            if (settled.Status is SettleStatus.Deferred or SettleStatus.Undelivered)
            {
                // The provider produced the answer: the client gets it, and the charge reaches Redis when it can.
                var inLedger = settled.Status == SettleStatus.Deferred;
                backgroundSettles.Retry(stopping => credits.CompleteDeferredSettleAsync(reservation, cost, model.Key, requestId, inLedger, stopping), requestId);
            }
        }

        usage.Record(requestId, new ModelCallUsage
        {
            Caller = call.Caller,
            // Agent calls bill the user the executor names; every other caller bills itself.
            BilledUserId = call.Caller.Source == CallerSource.Agent ? call.Caller.UserId : null,
            AgentTaskId = call.Caller.Source == CallerSource.Agent ? call.AgentTaskId : null,
            Endpoint = call.Endpoint,
            Model = model.Key,
            Provider = model.ProviderName,
            InputTokens = used.InputTokens,
            OutputTokens = used.OutputTokens,
            CreditUnits = charged,
            Latency = call.Watch.Elapsed,
            TimeToFirstToken = call.Watch.TimeToFirstToken,
            Routed = call.Routed,
            FallbackFrom = call.Run.FallbackFrom,
            Streamed = call.Streamed,
            Outcome = outcome,
        });
        return new CallCharge(model, used, charged);
    }
}
