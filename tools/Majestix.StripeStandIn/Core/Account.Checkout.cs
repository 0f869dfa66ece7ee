using System.Text.Json.Nodes;
using Majestix.StripeStandIn.Billing;

namespace Majestix.StripeStandIn.Core;

/// <summary>What a hosted-page payment came to: complete, declined, requires_action or processing.</summary>
internal sealed record PageOutcome(string Status, string Redirect, string? Message = null);

// Checkout sessions and billing portal sessions, and what their hosted pages do.
internal sealed partial class Account
{
    public JsonObject CheckoutSession(string id) => Get(CheckoutSessions, id, "checkout.session");

    public JsonObject CreateCheckoutSession(Form form)
    {
        var mode = form.Str("mode") ?? throw StripeFault.Missing("mode");
        if (mode is not ("payment" or "subscription"))
        {
            throw StripeFault.Invalid($"Invalid mode: must be one of payment, setup, or subscription", "mode");
        }
        var priceId = form.Str("line_items", "0", "price") ?? throw StripeFault.Missing("line_items[0][price]");
        var price = Price(priceId, "line_items[0][price]");
        var quantity = form.Long("line_items", "0", "quantity") ?? 1;
        if (mode == "subscription" && price["recurring"] is null)
        {
            throw StripeFault.Invalid("You must provide at least one recurring price in `subscription` mode when using prices.", "line_items[0][price]");
        }
        if (mode == "payment" && price["recurring"] is not null)
        {
            throw StripeFault.Invalid("You specified `payment` mode but passed a recurring price. Either switch to `subscription` mode or use only one-time prices.", "line_items[0][price]");
        }
        var successUrl = form.Str("success_url");
        var customer = form.Str("customer");
        if (customer is not null)
        {
            Customer(customer, "customer");
        }
        var id = Ids.New("cs_test_", 58);
        var amount = Num(price, "unit_amount") * quantity;
        var now = Ids.Now();
        var session = new JsonObject
        {
            ["id"] = id,
            ["object"] = "checkout.session",
            ["after_expiration"] = null,
            ["allow_promotion_codes"] = null,
            ["amount_subtotal"] = amount,
            ["amount_total"] = amount,
            ["billing_address_collection"] = null,
            ["cancel_url"] = form.Str("cancel_url"),
            ["client_reference_id"] = form.Str("client_reference_id"),
            ["client_secret"] = null,
            ["created"] = now,
            ["currency"] = price["currency"]!.DeepClone(),
            ["customer"] = customer,
            ["customer_creation"] = customer is null && mode == "payment" ? form.Str("customer_creation") ?? "if_required" : null,
            ["customer_details"] = null,
            ["customer_email"] = form.Str("customer_email"),
            ["expires_at"] = now + 24 * 3600,
            ["invoice"] = null,
            ["livemode"] = false,
            ["locale"] = null,
            ["metadata"] = form.Metadata("metadata") ?? [],
            ["mode"] = mode,
            ["payment_intent"] = null,
            ["payment_link"] = null,
            ["payment_method_collection"] = "always",
            ["payment_method_types"] = new JsonArray("card"),
            ["payment_status"] = "unpaid",
            ["setup_intent"] = null,
            ["status"] = "open",
            ["submit_type"] = null,
            ["subscription"] = null,
            ["success_url"] = successUrl,
            ["total_details"] = new JsonObject { ["amount_discount"] = 0, ["amount_shipping"] = 0, ["amount_tax"] = 0 },
            ["ui_mode"] = "hosted",
            ["url"] = $"{PublicUrl}/checkout/{id}",
        };
        CheckoutSessions[id] = session;
        SessionLines[id] = (priceId, quantity);
        SessionOptions[id] = new CheckoutOptions(
            form.Metadata("subscription_data", "metadata"),
            form.Metadata("payment_intent_data", "metadata"),
            form.Str("payment_intent_data", "setup_future_usage"),
            form.Str("payment_intent_data", "description"));
        return session;
    }

    /// <summary>What the session's create call asked for that is used only when it is paid.</summary>
    internal sealed record CheckoutOptions(JsonObject? SubscriptionMetadata, JsonObject? PaymentMetadata, string? SetupFutureUsage, string? Description);

    public Dictionary<string, CheckoutOptions> SessionOptions { get; } = [];

    public JsonObject LineItems(string sessionId)
    {
        var (priceId, quantity) = SessionLines[sessionId];
        var price = Prices[priceId];
        var amount = Num(price, "unit_amount") * quantity;
        var product = Products.TryGetValue(Str(price, "product")!, out var p) ? Str(p, "name") : null;
        return new JsonObject
        {
            ["object"] = "list",
            ["data"] = new JsonArray(new JsonObject
            {
                ["id"] = Ids.New("li_"),
                ["object"] = "item",
                ["amount_discount"] = 0,
                ["amount_subtotal"] = amount,
                ["amount_tax"] = 0,
                ["amount_total"] = amount,
                ["currency"] = price["currency"]!.DeepClone(),
                ["description"] = product,
                ["price"] = price.DeepClone(),
                ["quantity"] = quantity,
            }),
            ["has_more"] = false,
            ["url"] = $"/v1/checkout/sessions/{sessionId}/line_items",
        };
    }

    /// <summary>The hosted page's pay button.</summary>
    public PageOutcome PayCheckout(JsonObject session, string card, bool settlesLater)
    {
        var id = Id(session);
        if (Str(session, "status") != "open")
        {
            throw StripeFault.Invalid($"This Checkout Session is no longer open ({Str(session, "status")}).", null, "checkout_session_not_open");
        }
        var success = (Str(session, "success_url") ?? PublicUrl + "/").Replace("{CHECKOUT_SESSION_ID}", id, StringComparison.Ordinal);
        var again = $"{PublicUrl}/checkout/{id}";
        var options = SessionOptions[id];
        var (priceId, quantity) = SessionLines[id];
        var price = Prices[priceId];
        var number = Cards.Normalize(card);
        var outcome = settlesLater ? CardOutcome.Succeeds : Cards.OutcomeOf(number);
        if (outcome != CardOutcome.Succeeds)
        {
            // Nothing is created for a refused card: the session stays open for another try.
            return Declined(outcome, again);
        }

        var customerId = Str(session, "customer") ?? Id(CreateCustomer(Str(session, "customer_email"), null, null));
        var customer = Customer(customerId);
        var pm = CreatePaymentMethod(number);
        Attach(pm, customerId);
        session["customer_details"] = new JsonObject
        {
            ["address"] = null,
            ["email"] = customer["email"]?.DeepClone() ?? session["customer_email"]?.DeepClone(),
            ["name"] = customer["name"]?.DeepClone(),
            ["phone"] = null,
            ["tax_exempt"] = "none",
            ["tax_ids"] = new JsonArray(),
        };

        if (Str(session, "mode") == "subscription")
        {
            customer["invoice_settings"]!["default_payment_method"] = Id(pm);
            var (subscription, invoice) = CreateSubscription(customerId, price, quantity, Id(pm), options.SubscriptionMetadata?.DeepClone().AsObject());
            Emit("customer.subscription.created", subscription);
            PayInvoice(invoice, Id(pm));
            Complete(session, customerId, "paid");
            session["subscription"] = Id(subscription);
            session["invoice"] = Id(invoice);
            Emit("checkout.session.completed", session);
            return new PageOutcome("complete", success);
        }

        if (!SessionIntents.TryGetValue(id, out var piId))
        {
            var created = CreatePaymentIntent(Num(session, "amount_total"), Str(session, "currency")!, customerId, Id(pm),
                options.PaymentMetadata?.DeepClone().AsObject(), options.Description, options.SetupFutureUsage);
            piId = SessionIntents[id] = Id(created);
        }
        var pi = PaymentIntents[piId];
        pi["payment_method"] = Id(pm);
        pi["customer"] = customerId;
        if (settlesLater)
        {
            pi["status"] = "processing";
            Complete(session, customerId, "unpaid");
            session["payment_intent"] = piId;
            Emit("checkout.session.completed", session);
            return new PageOutcome("processing", success);
        }
        if (Confirm(pi) is not null)
        {
            return Declined(outcome, again);
        }
        if (options.SetupFutureUsage == "off_session" || options.SetupFutureUsage == "on_session")
        {
            DefaultIfNone(customerId, Id(pm));
        }
        Complete(session, customerId, "paid");
        session["payment_intent"] = piId;
        Emit("checkout.session.completed", session);
        return new PageOutcome("complete", success);
    }

    /// <summary>An async ("settles later") payment's outcome.</summary>
    public PageOutcome SettleCheckout(JsonObject session, bool succeeded)
    {
        var id = Id(session);
        if (Str(session, "status") != "complete" || Str(session, "payment_status") != "unpaid" || !SessionIntents.TryGetValue(id, out var piId))
        {
            throw StripeFault.Invalid("This Checkout Session has no payment waiting to settle.", null, "checkout_session_not_pending");
        }
        var pi = PaymentIntents[piId];
        if (Str(pi, "status") != "processing")
        {
            throw StripeFault.Invalid("This Checkout Session's payment has already settled.", null, "checkout_session_not_pending");
        }
        var success = (Str(session, "success_url") ?? PublicUrl + "/").Replace("{CHECKOUT_SESSION_ID}", id, StringComparison.Ordinal);
        if (succeeded)
        {
            // The settling payment uses a card that succeeds whatever was entered on the page.
            var pm = PaymentMethods[Str(pi, "payment_method")!];
            CardNumbers[Id(pm)] = Cards.Visa;
            Confirm(pi);
            var sfu = SessionOptions[id].SetupFutureUsage;
            if (sfu is "off_session" or "on_session")
            {
                DefaultIfNone(Str(session, "customer")!, Id(pm));
            }
            session["payment_status"] = "paid";
            Emit("checkout.session.async_payment_succeeded", session);
            return new PageOutcome("complete", success);
        }
        pi["status"] = "requires_payment_method";
        pi["last_payment_error"] = new JsonObject
        {
            ["type"] = "card_error",
            ["code"] = "payment_intent_payment_attempt_failed",
            ["message"] = "The payment failed.",
        };
        Emit("payment_intent.payment_failed", pi);
        Emit("checkout.session.async_payment_failed", session);
        return new PageOutcome("failed", success);
    }

    private static PageOutcome Declined(CardOutcome outcome, string again) => outcome == CardOutcome.AuthenticationRequired
        ? new PageOutcome("requires_action", again + "?error=requires_action", "Your bank asks to authenticate this payment (3-D Secure); the stand-in cannot, so nothing was charged.")
        : new PageOutcome("declined", again + "?error=declined", "Your card was declined.");

    private static void Complete(JsonObject session, string customerId, string paymentStatus)
    {
        session["status"] = "complete";
        session["payment_status"] = paymentStatus;
        session["customer"] = customerId;
    }

    public JsonObject PortalSession(string id) => Get(PortalSessions, id, "billing_portal.session");

    public JsonObject CreatePortalSession(string customerId, string? returnUrl)
    {
        Customer(customerId, "customer");
        var id = Ids.New("bps_");
        var session = new JsonObject
        {
            ["id"] = id,
            ["object"] = "billing_portal.session",
            ["configuration"] = "bpc_standin",
            ["created"] = Ids.Now(),
            ["customer"] = customerId,
            ["flow"] = null,
            ["livemode"] = false,
            ["locale"] = null,
            ["on_behalf_of"] = null,
            ["return_url"] = returnUrl,
            ["url"] = $"{PublicUrl}/portal/{id}",
        };
        PortalSessions[id] = session;
        return session;
    }

    /// <summary>The portal customer's newest subscription that has not ended.</summary>
    public JsonObject? PortalSubscription(JsonObject portal) => Subscriptions.Values
        .Where(s => Str(s, "customer") == Str(portal, "customer") && Str(s, "status") != "canceled")
        .OrderByDescending(s => Num(s, "created"))
        .FirstOrDefault();
}
