using Majestix.InferenceApi.Credits;
using Majestix.InferenceApi.Identity;
using Majestix.InferenceApi.Inference.Catalog;
using Majestix.InferenceApi.Inference.Providers;
using Majestix.InferenceApi.UsageEvents;

namespace Majestix.InferenceApi.Inference;

/// <summary>Why a model call could not start: the status and <c>{"detail"}</c> the client gets.</summary>
internal sealed record CallRefusal(int StatusCode, string Detail, ReserveResult? QuotaRefusal = null);

/// <summary>A started call: the run to read, the credits held for it, and how the model was chosen.</summary>
internal sealed record StartedCall(ModelRun Run, CreditReservation? Reservation, bool Routed, CallerContext Caller, string Endpoint, bool Streamed, UsageStopwatch Watch)
{
    /// <summary>The agent task a call made for the executor belongs to (usage events name it).</summary>
    public string? AgentTaskId { get; init; }
}

/// <summary>
/// A non-streamed call after it was settled: the response and its charge, or the failure that left
/// nothing to answer with, or neither when the client left first.
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
    UsageLog usage, TimeProvider time)
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
        else if (!ModelCatalog.IsAllowed(found, caller.Plan))
        {
            return (null, new CallRefusal(StatusCodes.Status403Forbidden, $"Model '{requestedModel}' is not available on the {caller.Plan.WireName()} plan."));
        }
        else
        {
            model = found;
        }

        var request = buildRequest(model);
        var worstCase = CreditPrice.ForTokens(model.InputUsdPerMillion, model.OutputUsdPerMillion,
            (long)Math.Ceiling(counter.CountInput(request) * InputEstimateMargin), request.MaxTokens);
        var reservation = await credits.ReserveAsync(billedUserId, worstCase, cancellationToken: cancellationToken);
        if (reservation.Status == ReserveStatus.Insufficient)
        {
            return (null, new CallRefusal(StatusCodes.Status402PaymentRequired, "Insufficient credits.", reservation));
        }

        var run = runner.Start(model.Key, caller.Plan, request, cancellationToken);
        return (new StartedCall(run, reservation.Reservation, routed, caller, endpoint, streamed, watch), null);
    }

    /// <summary>
    /// Reads a non-streamed call to its end and settles it on every way out; endpoints only write the
    /// answer (the streaming counterpart is <see cref="StreamPump"/>).
    /// </summary>
    public async Task<CollectedCall> CollectAsync(StartedCall call, HttpContext context)
    {
        ModelResponse response;
        try
        {
            response = await call.Run.CollectAsync(context.RequestAborted);
        }
        catch (ProviderFailureException exception)
        {
            await SettleAsync(call, context, UsageOutcome.ProviderFailed(exception));
            return new CollectedCall(null, null, exception);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            await SettleAsync(call, context, UsageOutcome.Cancelled);
            return new CollectedCall(null, null, null);
        }
        var charge = await SettleAsync(call, context, response.Failure is { } failed ? UsageOutcome.ProviderFailed(failed) : UsageOutcome.Ok);
        return new CollectedCall(response, charge, null);
    }

    /// <summary>
    /// Charges what the serving model used (provider usage, or counted output when a stream was cut),
    /// never more than was held. Runs even when the client has gone: the tokens were produced.
    /// </summary>
    public async Task<CallCharge> SettleAsync(StartedCall call, HttpContext context, UsageOutcome outcome)
    {
        var model = call.Run.ServedBy ?? call.Run.Requested;
        var used = call.Run.Usage ?? new Usage(0, 0, UsageSource.Counted);
        var cost = CreditPrice.ForTokens(model.InputUsdPerMillion, model.OutputUsdPerMillion, used.InputTokens, used.OutputTokens);
        var charged = cost;
        if (call.Reservation is not null)
        {
            var settled = await credits.SettleAsync(call.Reservation, cost, model.Key, context.TraceIdentifier, CancellationToken.None);
            charged = settled.Status == SettleStatus.Unenforced ? cost : settled.ChargedUnits;
        }

        usage.Record(context, new ModelCallUsage
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
