using System.Buffers;
using System.Globalization;
using Majestix.InferenceApi.Audit;
using Majestix.InferenceApi.Credits;
using Majestix.InferenceApi.Errors;
using Majestix.InferenceApi.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Stripe;
using Stripe.Checkout;

namespace Majestix.InferenceApi.Billing;

internal static class BillingApi
{
    private const long MinThresholdCredits = 100;
    private const long MaxThresholdCredits = 1_000_000;

    public static IEndpointRouteBuilder MapBilling(this IEndpointRouteBuilder routes)
    {
        var web = routes.MapGroup("/billing")
            .RequireCaller(CallerRequirement.WebOnly)
            .WithTags("Billing");
        web.MapPost("/checkout", CheckoutAsync).WithName("StartSubscriptionCheckout");
        web.MapPost("/topup", TopupAsync).WithName("StartTopupCheckout");
        web.MapPost("/portal", PortalAsync).WithName("OpenBillingPortal");
        web.MapPut("/auto-topup", SetAutoTopupAsync).WithName("SetAutoTopup");
        web.MapGet("/", GetAsync).WithName("GetBilling").RequireCaller(CallerRequirement.KeyOrWeb);

        // Stripe's own signature authenticates it; its events run past the default body limit.
        routes.MapPost("/billing/webhook", StripeWebhook.ReceiveAsync)
            .WithName("StripeWebhook")
            .WithTags("Billing")
            .WithMetadata(new RequestSizeLimitAttribute(StripeWebhook.MaxBodyBytes))
            .ExcludeFromDescription();
        return routes;
    }

    private static async Task<Results<Ok<CheckoutResponse>, BadRequest<ErrorDetail>, Conflict<ErrorDetail>>> CheckoutAsync(
        CheckoutRequest? request, CallerContext caller, StripeClient stripe, BillingStore store, BillingCatalog catalog, IOptions<BillingOptions> options,
        HttpContext context)
    {
        if (catalog.PlanNamed(request?.Plan) is not { } plan)
        {
            return TypedResults.BadRequest(new ErrorDetail("plan must be \"guru\" or \"pro\"."));
        }
        var userId = caller.UserId!;
        var account = await store.GetAccountAsync(userId, context.RequestAborted);
        if (account?.HasLiveSubscription == true)
        {
            return TypedResults.Conflict(new ErrorDetail(
                $"You already have a {account.SubscriptionPlan ?? "paid"} subscription ({account.SubscriptionStatus}); change or cancel it in the billing portal (POST /billing/portal)."));
        }
        var metadata = new Dictionary<string, string> { ["uid"] = userId, ["plan"] = plan.Plan.WireName() };
        var url = await CreateCheckoutAsync(userId, account, "subscription", plan.PriceId, "subscribed", metadata,
            session => session.SubscriptionData = new SessionSubscriptionDataOptions { Metadata = metadata }, stripe, store, options, context.RequestAborted);
        return TypedResults.Ok(new CheckoutResponse(url));
    }

    private static async Task<Results<Ok<CheckoutResponse>, BadRequest<ErrorDetail>>> TopupAsync(
        TopupRequest? request, CallerContext caller, StripeClient stripe, BillingStore store, BillingCatalog catalog, IOptions<BillingOptions> options,
        HttpContext context)
    {
        if (catalog.TierNamed(request?.Tier) is not { } tier)
        {
            return TypedResults.BadRequest(new ErrorDetail("tier must be \"small\" ($5, 5,000 credits), \"medium\" ($25, 27,500) or \"large\" ($100, 125,000)."));
        }
        var userId = caller.UserId!;
        var account = await store.GetAccountAsync(userId, context.RequestAborted);
        var metadata = new Dictionary<string, string>
        {
            ["uid"] = userId,
            ["tier"] = tier.Name,
            ["credits"] = tier.Credits.ToString(CultureInfo.InvariantCulture),
        };
        // The card is kept for auto top-up; the intent carries the tier too.
        var url = await CreateCheckoutAsync(userId, account, "payment", tier.PriceId, "topped-up", metadata,
            session => session.PaymentIntentData = new SessionPaymentIntentDataOptions { SetupFutureUsage = "off_session", Metadata = metadata },
            stripe, store, options, context.RequestAborted);
        return TypedResults.Ok(new CheckoutResponse(url));
    }

    /// <summary>A Checkout session for one price on the user's one customer; <paramref name="modeOptions"/> says where the metadata must reach.</summary>
    private static async Task<string> CreateCheckoutAsync(string userId, BillingAccount? account, string mode, string priceId, string outcome,
        Dictionary<string, string> metadata, Action<SessionCreateOptions> modeOptions, StripeClient stripe, BillingStore store, IOptions<BillingOptions> options,
        CancellationToken cancellationToken)
    {
        var session = new SessionCreateOptions
        {
            Mode = mode,
            Customer = await EnsureCustomerAsync(userId, account, stripe, store, cancellationToken),
            ClientReferenceId = userId,
            LineItems = [new SessionLineItemOptions { Price = priceId, Quantity = 1 }],
            SuccessUrl = ReturnUrl(options, $"billing={outcome}&session={{CHECKOUT_SESSION_ID}}"),
            CancelUrl = ReturnUrl(options, "billing=cancelled"),
            Metadata = metadata,
        };
        modeOptions(session);
        return (await stripe.V1.Checkout.Sessions.CreateAsync(session, cancellationToken: cancellationToken)).Url;
    }

    private static async Task<Results<Ok<PortalResponse>, NotFound<ErrorDetail>>> PortalAsync(CallerContext caller, StripeClient stripe, BillingStore store,
        IOptions<BillingOptions> options, HttpContext context)
    {
        if ((await store.GetAccountAsync(caller.UserId!, context.RequestAborted))?.CustomerId is not { } customerId)
        {
            return TypedResults.NotFound(new ErrorDetail("There is no billing account yet: subscribe (POST /billing/checkout) or buy a top-up first."));
        }
        var portal = await stripe.V1.BillingPortal.Sessions.CreateAsync(new Stripe.BillingPortal.SessionCreateOptions
        {
            Customer = customerId,
            ReturnUrl = ReturnUrl(options, "billing=portal"),
        }, cancellationToken: context.RequestAborted);
        return TypedResults.Ok(new PortalResponse(portal.Url));
    }

    private static async Task<Ok<BillingView>> GetAsync(CallerContext caller, BillingStore store, CreditStore credits, TimeProvider time, HttpContext context)
    {
        var userId = caller.UserId!;
        var accountRead = store.GetAccountAsync(userId, context.RequestAborted);
        var balance = await credits.GetBalanceAsync(userId, context.RequestAborted);
        var account = await accountRead ?? new BillingAccount(userId);
        return TypedResults.Ok(View(account, balance.Plan, time.GetUtcNow()));
    }

    private static async Task<Results<Ok<BillingView>, BadRequest<ErrorDetail>, Conflict<ErrorDetail>>> SetAutoTopupAsync(
        AutoTopupRequest? request, CallerContext caller, BillingStore store, BillingCatalog catalog, CreditStore credits, AutoTopup autoTopup,
        AuditLog audit, IOptions<BillingOptions> options, TimeProvider time, HttpContext context)
    {
        if (ValidateAutoTopup(request, catalog, options.Value) is { } problem)
        {
            return TypedResults.BadRequest(new ErrorDetail(problem));
        }
        var userId = caller.UserId!;
        var settings = new AutoTopupSettings(request!.Enabled!.Value, request.ThresholdCredits!.Value, request.Tier!, request.MonthlyLimitUsd!.Value);
        var account = await store.UpdateAccountAsync(userId, current =>
        {
            if (settings.Enabled && current.Card is null)
            {
                return (current, (BillingAccount?)null);
            }
            var state = current.AutoTopupState ?? new AutoTopupState();
            // Turning it on (again) is the user's answer to a pause or to declines: both start over.
            var changed = current with
            {
                AutoTopup = settings,
                AutoTopupState = settings.Enabled ? state with { PausedReason = null, ConsecutiveDeclines = 0 } : state,
            };
            return (changed, changed);
        }, context.RequestAborted);
        if (account is null)
        {
            return TypedResults.Conflict(new ErrorDetail(
                "There is no saved card to charge: buy a top-up first (POST /billing/topup saves the card), then turn auto top-up on."));
        }
        autoTopup.Forget(userId);
        if (settings.Enabled)
        {
            await autoTopup.ClearCooldownAsync(userId);
        }
        audit.Record(BillingAuditEvents.AutoTopupChanged, context, userId: userId, reason: settings.Enabled ? "enabled" : "disabled",
            details: new Dictionary<string, string>
            {
                ["threshold_credits"] = settings.ThresholdCredits.ToString(CultureInfo.InvariantCulture),
                ["tier"] = settings.Tier,
                ["monthly_limit_usd"] = settings.MonthlyLimitUsd.ToString(CultureInfo.InvariantCulture),
            });
        var balance = await credits.GetBalanceAsync(userId, context.RequestAborted);
        return TypedResults.Ok(View(account, balance.Plan, time.GetUtcNow()));
    }

    private static string? ValidateAutoTopup(AutoTopupRequest? request, BillingCatalog catalog, BillingOptions options)
    {
        if (request?.Enabled is null)
        {
            return "A JSON body {enabled, threshold_credits, tier, monthly_limit_usd} is required; enabled must be true or false.";
        }
        if (request.ThresholdCredits is not (>= MinThresholdCredits and <= MaxThresholdCredits))
        {
            return $"threshold_credits must be a whole number from {MinThresholdCredits} to {MaxThresholdCredits:N0}.";
        }
        if (catalog.TierNamed(request.Tier) is not { } tier)
        {
            return "tier must be \"small\" ($5), \"medium\" ($25) or \"large\" ($100).";
        }
        var smallest = tier.AmountCents / 100;
        if (request.MonthlyLimitUsd is not { } limit || limit < smallest || limit > options.AutoTopupMaxMonthlyLimitUsd)
        {
            return $"monthly_limit_usd must be a whole number of dollars from {smallest} (one {tier.Name} top-up) to {options.AutoTopupMaxMonthlyLimitUsd}.";
        }
        return null;
    }

    /// <summary>
    /// The user's one Stripe customer: the linked one, else created now with an idempotency key from the uid, so two
    /// first calls at once get the same customer from Stripe, and linked both ways.
    /// </summary>
    private static async Task<string> EnsureCustomerAsync(string userId, BillingAccount? account, StripeClient stripe, BillingStore store,
        CancellationToken cancellationToken)
    {
        if (account?.CustomerId is { } existing)
        {
            return existing;
        }
        var customer = await stripe.V1.Customers.CreateAsync(new CustomerCreateOptions
        {
            Metadata = new Dictionary<string, string> { ["uid"] = userId },
            Description = $"Majestix user {userId}",
        }, new RequestOptions { IdempotencyKey = $"customer:{userId}" }, cancellationToken);
        return await store.LinkCustomerAsync(userId, customer.Id, cancellationToken);
    }

    private static string ReturnUrl(IOptions<BillingOptions> options, string query) => $"{options.Value.WebAppUrl.TrimEnd('/')}/billing?{query}";

    private static BillingView View(BillingAccount account, string plan, DateTimeOffset now)
    {
        var state = account.AutoTopupState;
        var month = now.ToString("yyyy-MM", CultureInfo.InvariantCulture);
        return new BillingView(
            plan,
            account.SubscriptionId is { } id
                ? new SubscriptionView(id, account.SubscriptionStatus, account.SubscriptionPlan, account.CurrentPeriodStart, account.CurrentPeriodEnd,
                    account.CancelAtPeriodEnd ?? false)
                : null,
            account.Card is { } card ? new CardView(card.Brand, card.Last4) : null,
            new AutoTopupView(
                account.AutoTopup?.Enabled ?? false,
                account.AutoTopup?.ThresholdCredits,
                account.AutoTopup?.Tier,
                account.AutoTopup?.MonthlyLimitUsd,
                state?.Month == month ? state.MonthSpentCents / 100m : 0m,
                state?.PausedReason,
                state?.LastOutcome is { } outcome ? new AutoTopupOutcomeView(outcome, state.LastOutcomeReason, state.LastOutcomeAt, state.LastIntentId) : null),
            account.PaymentProblem);
    }
}
