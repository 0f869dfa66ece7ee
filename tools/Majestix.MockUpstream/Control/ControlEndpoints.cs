using System.Text.Json;
using Majestix.MockUpstream.AnthropicMessages;
using Majestix.MockUpstream.Behaviour;
using Majestix.MockUpstream.Serving;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Majestix.MockUpstream.Control;

internal static class ControlEndpoints
{
    private const long ListedCreated = 1_767_225_600; // 2026-01-01, fixed so listings are stable

    public static void MapControl(this WebApplication app)
    {
        app.MapGet("/health", () => TypedResults.Text("ok"));

        var control = app.MapGroup("/_mock");
        control.MapGet("/requests", (RequestLog log) => TypedResults.Json(log.Snapshot(), ControlJsonContext.Relaxed.RequestLogEntryArray));
        control.MapDelete("/requests", (RequestLog log) =>
        {
            log.Clear();
            return TypedResults.NoContent();
        });
        control.MapGet("/models", ListBehaviours);
        control.MapPut("/models/{**model}", PutBehaviourAsync);
        control.MapDelete("/models/{**model}", (string model, BehaviourStore store) =>
        {
            store.Remove(model);
            return TypedResults.NoContent();
        });
        control.MapDelete("/models", (BehaviourStore store) =>
        {
            store.Clear();
            return TypedResults.NoContent();
        });
        control.MapPost("/reset", (BehaviourStore store, RequestLog log) =>
        {
            store.Clear();
            log.Clear();
            return TypedResults.NoContent();
        });
    }

    public static IResult ListModels(HttpContext context, BehaviourStore store, MockUpstreamOptions options)
    {
        var ids = options.ListedModels
            .Concat(store.Configured.Keys)
            .Concat(store.Runtime.Keys)
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .Order(StringComparer.Ordinal)
            .ToArray();
        // The Anthropic SDK lists models at the same path; answer in its shape when it is the caller.
        if (context.Request.Headers.ContainsKey("anthropic-version"))
        {
            var models = ids.Select(id => new AnthropicModel(id, "model", id, "2026-01-01T00:00:00Z")).ToArray();
            return TypedResults.Json(
                new AnthropicModelList(models, false, models.FirstOrDefault()?.Id, models.LastOrDefault()?.Id),
                ControlJsonContext.Relaxed.AnthropicModelList);
        }
        return TypedResults.Json(
            new OpenAiModelList("list", [.. ids.Select(id => new OpenAiModel(id, "model", ListedCreated, "majestix-mock"))]),
            ControlJsonContext.Relaxed.OpenAiModelList);
    }

    public static async Task<IResult> CountTokensAsync(HttpContext context)
    {
        try
        {
            using var document = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            var request = AnthropicFormat.Instance.Parse(document.RootElement, countTokensOnly: true);
            return TypedResults.Json(new TokenCount(request.InputTokens), ControlJsonContext.Relaxed.TokenCount);
        }
        catch (Exception e) when (e is JsonException or InvalidRequestException)
        {
            return TypedResults.Json(new ControlError(e.Message), ControlJsonContext.Relaxed.ControlError, statusCode: 400);
        }
    }

    private static JsonHttpResult<BehaviourListing> ListBehaviours(BehaviourStore store) => TypedResults.Json(
        new BehaviourListing(
            store.Runtime.ToDictionary(p => p.Key, p => p.Value.Values()),
            store.Configured.ToDictionary(p => p.Key, p => p.Value.Values()),
            store.Defaults.Values()),
        ControlJsonContext.Relaxed.BehaviourListing);

    private static async Task<IResult> PutBehaviourAsync(string model, HttpContext context, BehaviourStore store)
    {
        var behaviour = new MockBehaviour();
        try
        {
            using var document = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException("body must be a JSON object of knobs, e.g. {\"latency_ms\": 50}");
            }
            foreach (var knob in document.RootElement.EnumerateObject())
            {
                behaviour.Set(knob.Name, knob.Value.ValueKind == JsonValueKind.String ? knob.Value.GetString()! : knob.Value.GetRawText());
            }
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            return TypedResults.Json(new ControlError(e.Message), ControlJsonContext.Relaxed.ControlError, statusCode: 400);
        }
        store.Put(model, behaviour);
        return TypedResults.Json(new ModelBehaviour(model, behaviour.Values()), ControlJsonContext.Relaxed.ModelBehaviour);
    }
}
