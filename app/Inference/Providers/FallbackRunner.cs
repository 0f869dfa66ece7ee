using System.Diagnostics;
using System.Runtime.CompilerServices;
using Majestix.InferenceApi.Identity;
using Majestix.InferenceApi.Inference.Catalog;

namespace Majestix.InferenceApi.Inference.Providers;

/// <summary>
/// Calls the requested model and, while nothing has been sent to the caller, its plan-allowed fallbacks
/// on failures that say nothing about the request (5xx, 429, 529, timeouts, connection errors, cut
/// streams). Once output has been sent, a failure ends the stream with a <see cref="Usage"/> for what was
/// produced and a <see cref="StreamFailed"/>: the caller never gets a silent switch of model.
/// </summary>
public sealed class FallbackRunner(ModelCatalog catalog, ModelProviders providers, TokenCounter counter, ILogger<FallbackRunner> logger)
{
    /// <summary>
    /// Prepares a run of <paramref name="modelKey"/>, which the caller has already checked with <see cref="ModelCatalog.IsAllowed"/>.
    /// Nothing is sent upstream until <see cref="ModelRun.Events"/> is enumerated. <paramref name="beforeFallback"/>, when
    /// given, is asked before each fallback with the request that model would get: false skips it (the caller
    /// cannot cover its worst case, or it does not fit), and the next one is tried or the last failure stands.
    /// </summary>
    public ModelRun Start(string modelKey, Plan plan, ModelRequest request, CancellationToken cancellationToken,
        Func<ModelEntry, ModelRequest, CancellationToken, ValueTask<bool>>? beforeFallback = null)
    {
        var requested = catalog.Find(modelKey) ?? throw new ArgumentException($"Unknown model '{modelKey}'.", nameof(modelKey));
        if (!ModelCatalog.IsAllowed(requested, plan))
        {
            // Endpoints answer 403 before getting here; this keeps a missed check from spending a paid model.
            throw new InvalidOperationException($"Model '{modelKey}' is not available on plan {plan.WireName()}.");
        }
        return new ModelRun(requested, counter, run => RunAsync(run, plan, request, beforeFallback, cancellationToken));
    }

    private async IAsyncEnumerable<ModelEvent> RunAsync(ModelRun run, Plan plan, ModelRequest request,
        Func<ModelEntry, ModelRequest, CancellationToken, ValueTask<bool>>? beforeFallback, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var candidates = new List<ModelEntry> { run.Requested };
        candidates.AddRange(catalog.FallbacksFor(run.Requested.Key, plan)
            .Where(model => request.Tools.Count == 0 || model.SupportsTools));

        ProviderFailureException? lastFailure = null;
        for (var index = 0; index < candidates.Count; index++)
        {
            var model = candidates[index];
            var attemptRequest = ForModel(request, model, run.Requested);
            if (index > 0 && beforeFallback is not null && !await beforeFallback(model, attemptRequest, cancellationToken))
            {
                logger.LogWarning("Fallback {Model} ({Provider}) skipped: the caller's credits cannot cover its worst case, or the input does not fit it",
                    model.Key, model.ProviderName);
                if (index + 1 < candidates.Count)
                {
                    continue;
                }
                throw lastFailure!;
            }
            cancellationToken.ThrowIfCancellationRequested();
            var received = new ReceivedOutput();
            run.Begin(model, attemptRequest, received);
            var started = Stopwatch.GetTimestamp();
            var outputStarted = false;
            await using var events = providers.For(model.Provider)
                .StreamAsync(attemptRequest, received, cancellationToken)
                .GetAsyncEnumerator(cancellationToken);
            while (true)
            {
                ProviderFailureException? failure = null;
                var moved = false;
                try
                {
                    moved = await events.MoveNextAsync();
                }
                catch (ProviderFailureException caught)
                {
                    failure = caught;
                }

                if (failure is not null)
                {
                    run.Record(new ModelAttempt(model, failure, Stopwatch.GetElapsedTime(started)));
                    logger.LogWarning("Model {Model} ({Provider}) failed: {FailureKind} {UpstreamStatus}; output started: {OutputStarted}",
                        model.Key, model.ProviderName, failure.Kind, failure.UpstreamStatus, outputStarted);
                    if (outputStarted)
                    {
                        run.Fail(failure);
                        yield return run.Usage!;
                        yield return new StreamFailed(failure);
                        yield break;
                    }
                    if (failure.IsFallbackEligible && index + 1 < candidates.Count)
                    {
                        lastFailure = failure;
                        break;
                    }
                    throw failure;
                }
                if (!moved)
                {
                    run.Record(new ModelAttempt(model, null, Stopwatch.GetElapsedTime(started)));
                    yield break;
                }

                var modelEvent = events.Current;
                if (modelEvent.IsOutput && !outputStarted)
                {
                    outputStarted = true;
                    run.Serve();
                }
                switch (modelEvent)
                {
                    case Usage usage:
                        run.Report(usage);
                        break;
                    case Completed:
                        if (!outputStarted)
                        {
                            run.Serve();
                        }
                        if (run.Usage is { Source: UsageSource.Counted } counted)
                        {
                            yield return counted;
                        }
                        break;
                }
                yield return modelEvent;
            }
        }
    }

    /// <summary>The request as one model receives it: its upstream id, its output limit, the requested custom model's prompt.</summary>
    private static ModelRequest ForModel(ModelRequest request, ModelEntry model, ModelEntry requested)
    {
        var systemPrompt = requested.SystemPrompt is { Length: > 0 } customPrompt
            ? string.IsNullOrEmpty(request.SystemPrompt) ? customPrompt : customPrompt + "\n\n" + request.SystemPrompt
            : request.SystemPrompt;
        return request with
        {
            Model = model.UpstreamModel,
            SystemPrompt = systemPrompt,
            MaxTokens = Math.Clamp(request.MaxTokens, 1, model.MaxOutputTokens),
            EnableThinking = request.EnableThinking && model.SupportsThinking,
        };
    }
}
