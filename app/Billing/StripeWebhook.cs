using Majestix.InferenceApi.Errors;
using Microsoft.Extensions.Options;
using Stripe;

namespace Majestix.InferenceApi.Billing;

/// <summary>
/// <c>POST /billing/webhook</c>: the raw body is checked against <c>Stripe-Signature</c> before anything reads it as JSON.
/// A bad or stale signature is 400 and changes nothing; an event billing does not act on is 200; an event that could not
/// be recorded (Firestore, Redis or Stripe unavailable) is 5xx, so Stripe delivers it again, and every handler is
/// keyed so that the second delivery finishes what the first left rather than doing it twice.
/// </summary>
internal static class StripeWebhook
{
    public const int MaxBodyBytes = 512 * 1024;

    public static async Task<IResult> ReceiveAsync(HttpContext context, StripeEvents events, IOptions<BillingOptions> options, TimeProvider time,
        ILogger<StripeEvents> logger)
    {
        // Never over MaxBodyBytes: the request-body limit answered 413 before this runs.
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        var body = buffer.ToArray();
        var settings = options.Value;
        if (StripeSignature.Problem(context.Request.Headers["Stripe-Signature"], body, settings.WebhookSecrets, settings.WebhookTolerance, time.GetUtcNow())
            is { } problem)
        {
            logger.LogWarning("Refused a Stripe webhook: {Problem}", problem);
            return TypedResults.BadRequest(new ErrorDetail(problem));
        }
        Event stripeEvent;
        try
        {
            stripeEvent = EventUtility.ParseEvent(System.Text.Encoding.UTF8.GetString(body), throwOnApiVersionMismatch: false);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            return TypedResults.BadRequest(new ErrorDetail("The body is signed but is not a Stripe event."));
        }
        try
        {
            var ignored = await events.HandleAsync(stripeEvent, context.RequestAborted);
            logger.LogInformation("Stripe event {EventId} {Type}: {Outcome}", stripeEvent.Id, stripeEvent.Type, ignored ?? "applied");
            return TypedResults.Ok(new WebhookReceipt(true, ignored));
        }
        catch (Exception exception) when (!context.RequestAborted.IsCancellationRequested && exception is not Redis.RedisUnavailableException)
        {
            logger.LogError(exception, "Stripe event {EventId} {Type} could not be recorded; Stripe will deliver it again", stripeEvent.Id, stripeEvent.Type);
            return TypedResults.Json(new ErrorDetail("The event could not be recorded now; deliver it again."), statusCode: StatusCodes.Status503ServiceUnavailable);
        }
    }
}
