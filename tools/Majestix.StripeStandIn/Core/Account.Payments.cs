using System.Text.Json.Nodes;
using Majestix.StripeStandIn.Billing;

namespace Majestix.StripeStandIn.Core;

// Payment methods, PaymentIntents, charges and refunds.
internal sealed partial class Account
{
    public JsonObject CreatePaymentMethod(string number, long expMonth = 12, long expYear = 2034)
    {
        number = Cards.Normalize(number);
        if (number.Length < 12)
        {
            throw new StripeFault(402, new JsonObject
            {
                ["type"] = "card_error",
                ["code"] = "incorrect_number",
                ["param"] = "card[number]",
                ["message"] = "Your card number is incorrect.",
            });
        }
        var brand = Cards.BrandOf(number);
        var pm = new JsonObject
        {
            ["id"] = Ids.New("pm_"),
            ["object"] = "payment_method",
            ["allow_redisplay"] = "unspecified",
            ["billing_details"] = new JsonObject
            {
                ["address"] = new JsonObject { ["city"] = null, ["country"] = null, ["line1"] = null, ["line2"] = null, ["postal_code"] = null, ["state"] = null },
                ["email"] = null,
                ["name"] = null,
                ["phone"] = null,
            },
            ["card"] = new JsonObject
            {
                ["brand"] = brand,
                ["checks"] = new JsonObject { ["address_line1_check"] = null, ["address_postal_code_check"] = null, ["cvc_check"] = "pass" },
                ["country"] = "US",
                ["display_brand"] = brand,
                ["exp_month"] = expMonth,
                ["exp_year"] = expYear,
                ["fingerprint"] = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(number)))[..16],
                ["funding"] = "credit",
                ["last4"] = number[^4..],
                ["networks"] = new JsonObject { ["available"] = new JsonArray(brand), ["preferred"] = null },
                ["three_d_secure_usage"] = new JsonObject { ["supported"] = true },
                ["wallet"] = null,
            },
            ["created"] = Ids.Now(),
            ["customer"] = null,
            ["livemode"] = false,
            ["metadata"] = new JsonObject(),
            ["type"] = "card",
        };
        PaymentMethods[Id(pm)] = pm;
        CardNumbers[Id(pm)] = number;
        return pm;
    }

    /// <summary>A pm_ id, or one of Stripe's test tokens (each use makes a new payment method).</summary>
    public JsonObject ResolvePaymentMethod(string idOrToken, string param = "payment_method") =>
        Cards.NumberOfToken(idOrToken) is { } number
            ? CreatePaymentMethod(number)
            : Get(PaymentMethods, idOrToken, "PaymentMethod", param);

    public void Attach(JsonObject pm, string customerId)
    {
        var current = Str(pm, "customer");
        if (current is not null && current != customerId)
        {
            throw StripeFault.Invalid("The payment method you provided has already been attached to a customer.", "payment_method");
        }
        pm["customer"] = customerId;
    }

    /// <summary>The customer's default payment method, set when none is.</summary>
    public void DefaultIfNone(string customerId, string pmId)
    {
        var settings = Customer(customerId)["invoice_settings"]!.AsObject();
        if (settings["default_payment_method"] is null)
        {
            settings["default_payment_method"] = pmId;
        }
    }

    public JsonObject CreatePaymentIntent(long amount, string currency, string? customer, string? pm, JsonObject? metadata, string? description, string? setupFutureUsage)
    {
        var id = Ids.New("pi_");
        var pi = new JsonObject
        {
            ["id"] = id,
            ["object"] = "payment_intent",
            ["amount"] = amount,
            ["amount_capturable"] = 0,
            ["amount_received"] = 0,
            ["application"] = null,
            ["automatic_payment_methods"] = null,
            ["canceled_at"] = null,
            ["cancellation_reason"] = null,
            ["capture_method"] = "automatic",
            ["client_secret"] = $"{id}_secret_{Ids.New("", 25)}",
            ["confirmation_method"] = "automatic",
            ["created"] = Ids.Now(),
            ["currency"] = currency,
            ["customer"] = customer,
            ["description"] = description,
            ["last_payment_error"] = null,
            ["latest_charge"] = null,
            ["livemode"] = false,
            ["metadata"] = metadata ?? [],
            ["next_action"] = null,
            ["payment_method"] = pm,
            ["payment_method_types"] = new JsonArray("card"),
            ["receipt_email"] = null,
            ["setup_future_usage"] = setupFutureUsage,
            ["status"] = pm is null ? "requires_payment_method" : "requires_confirmation",
        };
        PaymentIntents[id] = pi;
        return pi;
    }

    /// <summary>
    /// Charges the PaymentIntent's payment method. Success: status succeeded, a charge, events
    /// payment_intent.succeeded and charge.succeeded. Failure: status requires_payment_method with
    /// last_payment_error, event payment_intent.payment_failed; the error is returned.
    /// </summary>
    public JsonObject? Confirm(JsonObject pi)
    {
        var pmId = Str(pi, "payment_method") ?? throw StripeFault.Invalid(
            "You cannot confirm this PaymentIntent because it's missing a payment method.", "payment_method", "payment_intent_unexpected_state");
        var pm = PaymentMethods[pmId];
        var outcome = Cards.OutcomeOf(CardNumbers[pmId]);
        if (outcome == CardOutcome.Succeeds)
        {
            var charge = CreateCharge(pi, pm);
            pi["status"] = "succeeded";
            pi["amount_received"] = Num(pi, "amount");
            pi["latest_charge"] = Id(charge);
            pi["last_payment_error"] = null;
            if (Str(pi, "setup_future_usage") is not null && Str(pi, "customer") is { } customer && Str(pm, "customer") is null)
            {
                pm["customer"] = customer;
            }
            Emit("payment_intent.succeeded", pi);
            Emit("charge.succeeded", charge);
            return null;
        }
        var error = new JsonObject
        {
            ["type"] = "card_error",
            ["code"] = outcome == CardOutcome.Declined ? "card_declined" : "authentication_required",
            ["decline_code"] = outcome == CardOutcome.Declined ? "generic_decline" : "authentication_required",
            ["doc_url"] = outcome == CardOutcome.Declined ? "https://stripe.com/docs/error-codes/card-declined" : "https://stripe.com/docs/error-codes/authentication-required",
            ["message"] = outcome == CardOutcome.Declined ? "Your card was declined." : "Your card was declined. This transaction requires authentication.",
            ["payment_method"] = pm.DeepClone(),
        };
        pi["status"] = "requires_payment_method";
        pi["last_payment_error"] = error.DeepClone();
        Emit("payment_intent.payment_failed", pi);
        return error;
    }

    /// <summary>The 402 Stripe answers a failed confirmation with: the error and the PaymentIntent.</summary>
    public static StripeFault CardFault(JsonObject error, JsonObject pi)
    {
        var body = error.DeepClone().AsObject();
        body["payment_intent"] = pi.DeepClone();
        return new StripeFault(402, body);
    }

    private JsonObject CreateCharge(JsonObject pi, JsonObject pm)
    {
        var card = pm["card"]!.AsObject();
        var charge = new JsonObject
        {
            ["id"] = Ids.New("ch_"),
            ["object"] = "charge",
            ["amount"] = Num(pi, "amount"),
            ["amount_captured"] = Num(pi, "amount"),
            ["amount_refunded"] = 0L,
            ["balance_transaction"] = Ids.New("txn_"),
            ["billing_details"] = pm["billing_details"]!.DeepClone(),
            ["captured"] = true,
            ["created"] = Ids.Now(),
            ["currency"] = pi["currency"]!.DeepClone(),
            ["customer"] = pi["customer"]?.DeepClone(),
            ["description"] = pi["description"]?.DeepClone(),
            ["disputed"] = false,
            ["failure_code"] = null,
            ["failure_message"] = null,
            ["livemode"] = false,
            ["metadata"] = pi["metadata"]!.DeepClone(),
            ["outcome"] = new JsonObject
            {
                ["network_status"] = "approved_by_network",
                ["reason"] = null,
                ["risk_level"] = "normal",
                ["seller_message"] = "Payment complete.",
                ["type"] = "authorized",
            },
            ["paid"] = true,
            ["payment_intent"] = Id(pi),
            ["payment_method"] = Id(pm),
            ["payment_method_details"] = new JsonObject
            {
                ["card"] = new JsonObject
                {
                    ["brand"] = card["brand"]!.DeepClone(),
                    ["country"] = "US",
                    ["exp_month"] = card["exp_month"]!.DeepClone(),
                    ["exp_year"] = card["exp_year"]!.DeepClone(),
                    ["fingerprint"] = card["fingerprint"]!.DeepClone(),
                    ["funding"] = "credit",
                    ["last4"] = card["last4"]!.DeepClone(),
                    ["network"] = card["brand"]!.DeepClone(),
                },
                ["type"] = "card",
            },
            ["receipt_email"] = null,
            ["receipt_url"] = null,
            ["refunded"] = false,
            ["status"] = "succeeded",
        };
        Charges[Id(charge)] = charge;
        return charge;
    }

    public JsonObject CreateRefund(JsonObject charge, long? amount, string? reason, JsonObject? metadata)
    {
        var remaining = Num(charge, "amount") - Num(charge, "amount_refunded");
        var refundAmount = amount ?? remaining;
        if (refundAmount <= 0 || refundAmount > remaining)
        {
            throw remaining <= 0
                ? StripeFault.Invalid($"Charge {Id(charge)} has already been refunded.", null, "charge_already_refunded")
                : StripeFault.Invalid($"Refund amount ({FormatMoney(refundAmount)}) is greater than unrefunded amount on charge ({FormatMoney(remaining)})", "amount");
        }
        var refund = new JsonObject
        {
            ["id"] = Ids.New("re_"),
            ["object"] = "refund",
            ["amount"] = refundAmount,
            ["balance_transaction"] = Ids.New("txn_"),
            ["charge"] = Id(charge),
            ["created"] = Ids.Now(),
            ["currency"] = charge["currency"]!.DeepClone(),
            ["destination_details"] = null,
            ["metadata"] = metadata ?? [],
            ["payment_intent"] = charge["payment_intent"]?.DeepClone(),
            ["reason"] = reason,
            ["receipt_number"] = null,
            ["source_transfer_reversal"] = null,
            ["status"] = "succeeded",
            ["transfer_reversal"] = null,
        };
        Refunds[Id(refund)] = refund;
        var before = charge.DeepClone().AsObject();
        charge["amount_refunded"] = Num(charge, "amount_refunded") + refundAmount;
        charge["refunded"] = Num(charge, "amount_refunded") == Num(charge, "amount");
        Emit("charge.refunded", charge, before);
        return refund;
    }

    public static string FormatMoney(long cents) => (cents / 100m).ToString("$#,0.00", System.Globalization.CultureInfo.InvariantCulture);
}
