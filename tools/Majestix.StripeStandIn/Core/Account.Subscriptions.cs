using System.Text.Json.Nodes;

namespace Majestix.StripeStandIn.Core;

// Subscriptions, their invoices, renewals, plan switches and cancellations.
internal sealed partial class Account
{
    public JsonObject Subscription(string id, string? param = null) => Get(Subscriptions, id, "subscription", param);

    /// <summary>An active subscription to one price, period now → +1 month, with its first invoice (not yet paid).</summary>
    public (JsonObject Subscription, JsonObject Invoice) CreateSubscription(string customerId, JsonObject price, long quantity, string pmId, JsonObject? metadata)
    {
        var now = Ids.Now();
        var end = Ids.AddMonth(now);
        var id = Ids.New("sub_");
        var item = new JsonObject
        {
            ["id"] = Ids.New("si_", 14),
            ["object"] = "subscription_item",
            ["created"] = now,
            ["current_period_end"] = end,
            ["current_period_start"] = now,
            ["discounts"] = new JsonArray(),
            ["metadata"] = new JsonObject(),
            ["price"] = price.DeepClone(),
            ["quantity"] = quantity,
            ["subscription"] = id,
            ["tax_rates"] = new JsonArray(),
        };
        var subscription = new JsonObject
        {
            ["id"] = id,
            ["object"] = "subscription",
            ["application"] = null,
            ["billing_cycle_anchor"] = now,
            ["cancel_at"] = null,
            ["cancel_at_period_end"] = false,
            ["canceled_at"] = null,
            ["cancellation_details"] = new JsonObject { ["comment"] = null, ["feedback"] = null, ["reason"] = null },
            ["collection_method"] = "charge_automatically",
            ["created"] = now,
            ["currency"] = price["currency"]!.DeepClone(),
            ["customer"] = customerId,
            ["default_payment_method"] = pmId,
            ["description"] = null,
            ["discounts"] = new JsonArray(),
            ["ended_at"] = null,
            ["items"] = new JsonObject
            {
                ["object"] = "list",
                ["data"] = new JsonArray(item),
                ["has_more"] = false,
                ["total_count"] = 1,
                ["url"] = $"/v1/subscription_items?subscription={id}",
            },
            ["latest_invoice"] = null,
            ["livemode"] = false,
            ["metadata"] = metadata ?? [],
            ["pause_collection"] = null,
            ["start_date"] = now,
            ["status"] = "active",
            ["test_clock"] = null,
            ["trial_end"] = null,
            ["trial_start"] = null,
        };
        Subscriptions[id] = subscription;
        var invoice = CreateInvoice(subscription, "subscription_create");
        return (subscription, invoice);
    }

    public static JsonObject Item(JsonObject subscription) => subscription["items"]!["data"]![0]!.AsObject();

    /// <summary>An open invoice for the subscription's current item period and price.</summary>
    public JsonObject CreateInvoice(JsonObject subscription, string billingReason)
    {
        var item = Item(subscription);
        var price = item["price"]!.AsObject();
        var quantity = Num(item, "quantity");
        var amount = Num(price, "unit_amount") * quantity;
        var start = Num(item, "current_period_start");
        var end = Num(item, "current_period_end");
        var customer = Customer(Str(subscription, "customer")!);
        var id = Ids.New("in_");
        var product = Products.TryGetValue(Str(price, "product")!, out var p) ? Str(p, "name") : "Subscription";
        var interval = price["recurring"]?["interval"]?.GetValue<string>() ?? "month";
        var line = new JsonObject
        {
            ["id"] = Ids.New("il_"),
            ["object"] = "line_item",
            ["amount"] = amount,
            ["currency"] = price["currency"]!.DeepClone(),
            ["description"] = $"{quantity} × {product} (at {FormatMoney(Num(price, "unit_amount"))} / {interval})",
            ["discount_amounts"] = new JsonArray(),
            ["discountable"] = true,
            ["discounts"] = new JsonArray(),
            ["invoice"] = id,
            ["livemode"] = false,
            ["metadata"] = new JsonObject(),
            ["parent"] = new JsonObject
            {
                ["type"] = "subscription_item_details",
                ["invoice_item_details"] = null,
                ["subscription_item_details"] = new JsonObject
                {
                    ["invoice_item"] = null,
                    ["proration"] = false,
                    ["proration_details"] = new JsonObject { ["credited_items"] = null },
                    ["subscription"] = Id(subscription),
                    ["subscription_item"] = Id(item),
                },
            },
            ["period"] = new JsonObject { ["end"] = end, ["start"] = start },
            ["pretax_credit_amounts"] = new JsonArray(),
            ["pricing"] = new JsonObject
            {
                ["type"] = "price_details",
                ["price_details"] = new JsonObject { ["price"] = Id(price), ["product"] = price["product"]!.DeepClone() },
                ["unit_amount_decimal"] = price["unit_amount_decimal"]!.DeepClone(),
            },
            ["quantity"] = quantity,
            ["subtotal"] = amount,
            ["taxes"] = new JsonArray(),
        };
        var now = Ids.Now();
        var invoice = new JsonObject
        {
            ["id"] = id,
            ["object"] = "invoice",
            ["account_country"] = "US",
            ["account_name"] = "Majestix (stand-in)",
            ["amount_due"] = amount,
            ["amount_overpaid"] = 0,
            ["amount_paid"] = 0L,
            ["amount_remaining"] = amount,
            ["amount_shipping"] = 0,
            ["attempt_count"] = 0,
            ["attempted"] = false,
            ["auto_advance"] = true,
            ["billing_reason"] = billingReason,
            ["collection_method"] = "charge_automatically",
            ["created"] = now,
            ["currency"] = price["currency"]!.DeepClone(),
            ["customer"] = Id(customer),
            ["customer_email"] = customer["email"]?.DeepClone(),
            ["customer_name"] = customer["name"]?.DeepClone(),
            ["default_payment_method"] = null,
            ["description"] = null,
            ["discounts"] = new JsonArray(),
            ["due_date"] = null,
            ["effective_at"] = now,
            ["ending_balance"] = 0,
            ["hosted_invoice_url"] = null,
            ["invoice_pdf"] = null,
            ["last_finalization_error"] = null,
            ["lines"] = new JsonObject
            {
                ["object"] = "list",
                ["data"] = new JsonArray(line),
                ["has_more"] = false,
                ["total_count"] = 1,
                ["url"] = $"/v1/invoices/{id}/lines",
            },
            ["livemode"] = false,
            ["metadata"] = new JsonObject(),
            ["next_payment_attempt"] = null,
            ["number"] = $"{Str(customer, "invoice_prefix")}-{Invoices.Values.Count(i => Str(i, "customer") == Id(customer)) + 1:D4}",
            ["parent"] = new JsonObject
            {
                ["type"] = "subscription_details",
                ["quote_details"] = null,
                ["subscription_details"] = new JsonObject
                {
                    ["metadata"] = subscription["metadata"]!.DeepClone(),
                    ["subscription"] = Id(subscription),
                },
            },
            ["payments"] = new JsonObject
            {
                ["object"] = "list",
                ["data"] = new JsonArray(),
                ["has_more"] = false,
                ["url"] = $"/v1/invoice_payments?invoice={id}",
            },
            ["period_end"] = end,
            ["period_start"] = start,
            ["starting_balance"] = 0,
            ["status"] = "open",
            ["status_transitions"] = new JsonObject
            {
                ["finalized_at"] = now,
                ["marked_uncollectible_at"] = null,
                ["paid_at"] = null,
                ["voided_at"] = null,
            },
            ["subtotal"] = amount,
            ["subtotal_excluding_tax"] = amount,
            ["test_clock"] = null,
            ["total"] = amount,
            ["total_discount_amounts"] = new JsonArray(),
            ["total_excluding_tax"] = amount,
            ["total_taxes"] = new JsonArray(),
            ["webhooks_delivered_at"] = now,
        };
        Invoices[id] = invoice;
        subscription["latest_invoice"] = id;
        return invoice;
    }

    /// <summary>
    /// Charges an open invoice with <paramref name="pmId"/> through its PaymentIntent (one per invoice,
    /// reused by later attempts). Paid: events payment_intent.succeeded, charge.succeeded, invoice.paid.
    /// Declined: payment_intent.payment_failed, invoice.payment_failed. Returns whether it was paid.
    /// </summary>
    public bool PayInvoice(JsonObject invoice, string? pmId)
    {
        var payments = invoice["payments"]!["data"]!.AsArray();
        JsonObject? payment = payments.Count > 0 ? payments[0]!.AsObject() : null;
        JsonObject pi;
        if (payment is null)
        {
            var description = Str(invoice, "billing_reason") switch
            {
                "subscription_create" => "Subscription creation",
                "subscription_update" => "Subscription update",
                _ => "Subscription renewal",
            };
            pi = CreatePaymentIntent(Num(invoice, "amount_due"), Str(invoice, "currency")!, Str(invoice, "customer"), pmId, null, description, null);
            payment = new JsonObject
            {
                ["id"] = Ids.New("inpay_"),
                ["object"] = "invoice_payment",
                ["amount_paid"] = null,
                ["amount_requested"] = Num(invoice, "amount_due"),
                ["created"] = Ids.Now(),
                ["currency"] = invoice["currency"]!.DeepClone(),
                ["invoice"] = Id(invoice),
                ["is_default"] = true,
                ["livemode"] = false,
                ["payment"] = new JsonObject { ["type"] = "payment_intent", ["payment_intent"] = Id(pi) },
                ["status"] = "open",
                ["status_transitions"] = new JsonObject { ["canceled_at"] = null, ["paid_at"] = null },
            };
            payments.Add(payment);
        }
        else
        {
            pi = PaymentIntents[payment["payment"]!["payment_intent"]!.GetValue<string>()];
            pi["payment_method"] = pmId;
        }
        invoice["attempted"] = true;
        invoice["attempt_count"] = Num(invoice, "attempt_count") + 1;
        if (pmId is null)
        {
            pi["status"] = "requires_payment_method";
            Emit("invoice.payment_failed", invoice);
            return false;
        }
        if (Confirm(pi) is not null)
        {
            Emit("invoice.payment_failed", invoice);
            return false;
        }
        var now = Ids.Now();
        payment["status"] = "paid";
        payment["amount_paid"] = Num(invoice, "amount_due");
        payment["status_transitions"]!["paid_at"] = now;
        invoice["status"] = "paid";
        invoice["amount_paid"] = Num(invoice, "amount_due");
        invoice["amount_remaining"] = 0;
        invoice["status_transitions"]!["paid_at"] = now;
        Emit("invoice.paid", invoice);
        return true;
    }

    public string? DefaultPaymentMethodOf(JsonObject subscription) =>
        Str(subscription, "default_payment_method")
        ?? Customer(Str(subscription, "customer")!)["invoice_settings"]!["default_payment_method"]?.GetValue<string>();

    /// <summary>Cancels at once: status canceled, event customer.subscription.deleted.</summary>
    public void CancelSubscription(JsonObject subscription, string reason = "cancellation_requested")
    {
        RequireNotCanceled(subscription);
        var now = Ids.Now();
        subscription["status"] = "canceled";
        subscription["canceled_at"] = now;
        subscription["ended_at"] = now;
        subscription["cancellation_details"]!["reason"] = reason;
        Emit("customer.subscription.deleted", subscription);
    }

    /// <summary>
    /// The portal's plan switch: the item takes the new price, the period restarts now, and an invoice for
    /// the new price is charged (events customer.subscription.updated, then invoice.paid or
    /// invoice.payment_failed and past_due).
    /// </summary>
    public JsonObject SwitchPrice(JsonObject subscription, JsonObject price)
    {
        RequireNotCanceled(subscription);
        if (price["recurring"] is null)
        {
            throw StripeFault.Invalid("The price specified is set to `type=one_time` but this field only accepts prices with `type=recurring`.", "items[0][price]");
        }
        var before = subscription.DeepClone().AsObject();
        var now = Ids.Now();
        var item = Item(subscription);
        item["price"] = price.DeepClone();
        item["current_period_start"] = now;
        item["current_period_end"] = Ids.AddMonth(now);
        subscription["billing_cycle_anchor"] = now;
        var invoice = CreateInvoice(subscription, "subscription_update");
        Emit("customer.subscription.updated", subscription, before);
        if (!PayInvoice(invoice, DefaultPaymentMethodOf(subscription)))
        {
            before = subscription.DeepClone().AsObject();
            subscription["status"] = "past_due";
            Emit("customer.subscription.updated", subscription, before);
        }
        return invoice;
    }

    /// <summary>
    /// The subscription's clock reaches its period end: a renewal invoice for the next month, charged to
    /// its default payment method. Returns the invoice (null when the subscription ended instead).
    /// </summary>
    public JsonObject? Advance(JsonObject subscription, bool exhaustRetries)
    {
        RequireNotCanceled(subscription);
        var item = Item(subscription);
        var oldEnd = Num(item, "current_period_end");
        if (subscription["cancel_at_period_end"]?.GetValue<bool>() == true)
        {
            subscription["status"] = "canceled";
            subscription["canceled_at"] ??= Ids.Now();
            subscription["ended_at"] = oldEnd;
            subscription["cancellation_details"]!["reason"] = "cancellation_requested";
            Emit("customer.subscription.deleted", subscription);
            return null;
        }
        var before = subscription.DeepClone().AsObject();
        item["current_period_start"] = oldEnd;
        item["current_period_end"] = Ids.AddMonth(oldEnd);
        var invoice = CreateInvoice(subscription, "subscription_cycle");
        var id = Id(subscription);
        if (PayInvoice(invoice, DefaultPaymentMethodOf(subscription)))
        {
            FailedRenewals[id] = 0;
            subscription["status"] = "active";
        }
        else
        {
            var failures = FailedRenewals[id] = FailedRenewals.GetValueOrDefault(id) + 1;
            subscription["status"] = exhaustRetries || failures >= 3 ? "unpaid" : "past_due";
        }
        Emit("customer.subscription.updated", subscription, before);
        return invoice;
    }

    /// <summary>Pays the newest open invoice with the default payment method; returns it (or null when none is open).</summary>
    public JsonObject? PayLatest(JsonObject subscription)
    {
        var invoice = Invoices.Values
            .Where(i => i["parent"]?["subscription_details"]?["subscription"]?.GetValue<string>() == Id(subscription) && Str(i, "status") == "open")
            .OrderByDescending(i => Num(i, "created"))
            .FirstOrDefault();
        if (invoice is null)
        {
            return null;
        }
        var before = subscription.DeepClone().AsObject();
        if (PayInvoice(invoice, DefaultPaymentMethodOf(subscription)))
        {
            FailedRenewals[Id(subscription)] = 0;
            if (Str(subscription, "status") != "canceled")
            {
                subscription["status"] = "active";
            }
            Emit("customer.subscription.updated", subscription, before);
        }
        return invoice;
    }

    /// <summary>A new card as the customer's default and every one of its subscriptions' default.</summary>
    public JsonObject ReplaceCard(string customerId, string number)
    {
        var customer = Customer(customerId);
        var customerBefore = customer.DeepClone().AsObject();
        var pm = CreatePaymentMethod(number);
        Attach(pm, customerId);
        customer["invoice_settings"]!["default_payment_method"] = Id(pm);
        Emit("payment_method.attached", pm);
        foreach (var subscription in Subscriptions.Values.Where(s => Str(s, "customer") == customerId && Str(s, "status") != "canceled"))
        {
            var before = subscription.DeepClone().AsObject();
            subscription["default_payment_method"] = Id(pm);
            Emit("customer.subscription.updated", subscription, before);
        }
        Emit("customer.updated", customer, customerBefore);
        return pm;
    }

    private static void RequireNotCanceled(JsonObject subscription)
    {
        if (Str(subscription, "status") == "canceled")
        {
            throw StripeFault.Invalid($"A canceled subscription can only update its cancellation_details and metadata. ({Id(subscription)})", null, "resource_missing");
        }
    }
}
