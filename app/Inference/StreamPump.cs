using Majestix.InferenceApi.Inference.Providers;
using Majestix.InferenceApi.UsageEvents;

namespace Majestix.InferenceApi.Inference;

/// <summary>How a streamed call ended; the charge is there when it was settled before the answer's end.</summary>
internal sealed record PumpResult(CallCharge? Charge, ProviderFailureException? Failure, bool ClientGone);

/// <summary>
/// The one loop every streaming endpoint runs: events out with keep-alives, the first token timed, and
/// settlement exactly once on every way out — normal end, provider failure, a client that left, or a bug.
/// Endpoints only say how each output event is written. With <see cref="Settlement.Background"/> the settle
/// is under way, not done, when this returns (a bug's settle is always awaited before the exception goes on).
/// </summary>
internal static class StreamPump
{
    public static async Task<PumpResult> RunAsync(HttpContext context, StartedCall call, ModelCall calls, EventStream stream,
        Func<Task> writeOpening, Func<ModelEvent, Task> writeEvent, Settlement settlement = Settlement.BeforeAnswer)
    {
        var aborted = context.RequestAborted;
        ProviderFailureException? failure = null;
        var outcome = UsageOutcome.Ok;
        try
        {
            // Headers and the opening go out with the first frame: a failure before it can still get a status code.
            stream.OpenWith(writeOpening);
            await using var events = call.Run.Events.GetAsyncEnumerator(aborted);
            await foreach (var modelEvent in stream.WithKeepAlive(events, aborted))
            {
                if (modelEvent.IsOutput)
                {
                    call.Watch.MarkFirstToken();
                }
                if (modelEvent is StreamFailed failed)
                {
                    failure = failed.Failure;
                    outcome = UsageOutcome.ProviderFailed(failed.Failure);
                    continue;
                }
                await writeEvent(modelEvent);
            }
        }
        catch (ProviderFailureException exception)
        {
            // Every allowed model failed before any output: nothing was produced, nothing is charged.
            failure = exception;
            outcome = UsageOutcome.ProviderFailed(exception);
        }
        catch (Exception exception) when (aborted.IsCancellationRequested || exception is IOException)
        {
            // The client left (a cancelled read, or a write to a closed connection); the upstream call is
            // cancelled with it. Charge what was produced.
            outcome = UsageOutcome.Cancelled;
        }
        catch (Exception)
        {
            // Whatever went wrong, tokens that were produced are billed and the hold does not linger.
            await calls.SettleAsync(call, context, UsageOutcome.Error("gateway_error"));
            throw;
        }

        var charge = await calls.SettleAsync(call, context, outcome, settlement);
        return new PumpResult(charge, failure, aborted.IsCancellationRequested);
    }
}
