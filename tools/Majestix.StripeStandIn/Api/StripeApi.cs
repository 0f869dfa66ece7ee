using System.Text.Json.Nodes;
using Majestix.StripeStandIn.Core;

namespace Majestix.StripeStandIn.Api;

/// <summary>The subset of api.stripe.com/v1 the platform uses (see README.md).</summary>
internal static class StripeApi
{
    public static void MapStripeApi(this WebApplication app)
    {
        var runner = app.Services.GetRequiredService<ApiRunner>();
        void Get(string pattern, Func<Account, Form, RouteValueDictionary, Reply> handler) =>
            app.MapGet(pattern, (HttpContext c) => runner.RunAsync(c, (a, f) => handler(a, f, c.Request.RouteValues)));
        void Post(string pattern, Func<Account, Form, RouteValueDictionary, Reply> handler) =>
            app.MapPost(pattern, (HttpContext c) => runner.RunAsync(c, (a, f) => handler(a, f, c.Request.RouteValues)));
        void Delete(string pattern, Func<Account, Form, RouteValueDictionary, Reply> handler) =>
            app.MapDelete(pattern, (HttpContext c) => runner.RunAsync(c, (a, f) => handler(a, f, c.Request.RouteValues)));
        static string Id(RouteValueDictionary route) => (string)route["id"]!;
        static Reply Ok(Account a, JsonObject o, Form f) => Reply.Ok(Shapes.Expand(a, o, f));

        // Customers
        Post("/v1/customers", (a, f, _) =>
        {
            var customer = a.CreateCustomer(f.Str("email"), f.Str("name"), f.Metadata("metadata"));
            if (f.Str("payment_method") is { } pm)
            {
                var method = a.ResolvePaymentMethod(pm);
                a.Attach(method, Account.Id(customer));
            }
            if (f.Str("invoice_settings", "default_payment_method") is { } defaultPm)
            {
                customer["invoice_settings"]!["default_payment_method"] = Account.Id(a.ResolvePaymentMethod(defaultPm, "invoice_settings[default_payment_method]"));
            }
            return Ok(a, customer, f);
        });
        Get("/v1/customers", (a, f, _) =>
        {
            var email = f.Str("email");
            return Reply.Ok(Shapes.List("/v1/customers", a.Customers.Values.Where(c => email is null || Account.Str(c, "email") == email), f, a));
        });
        Get("/v1/customers/search", (a, f, _) => Reply.Ok(Search(a, f)));
        Get("/v1/customers/{id}", (a, f, r) => Ok(a, a.Customer(Id(r)), f));
        Delete("/v1/customers/{id}", (a, f, r) =>
        {
            a.Customer(Id(r));
            a.Customers.Remove(Id(r));
            return Reply.Ok(new JsonObject { ["id"] = Id(r), ["object"] = "customer", ["deleted"] = true });
        });
        Post("/v1/customers/{id}", (a, f, r) =>
        {
            var customer = a.Customer(Id(r));
            var before = customer.DeepClone().AsObject();
            Account.MergeMetadata(customer, f.Metadata("metadata"));
            if (f.Str("email") is { } email)
            {
                customer["email"] = email.Length == 0 ? null : email;
            }
            if (f.Str("name") is { } name)
            {
                customer["name"] = name.Length == 0 ? null : name;
            }
            if (f.Str("invoice_settings", "default_payment_method") is { } pmId)
            {
                if (pmId.Length == 0)
                {
                    customer["invoice_settings"]!["default_payment_method"] = null;
                }
                else
                {
                    var pm = a.ResolvePaymentMethod(pmId, "invoice_settings[default_payment_method]");
                    if (Account.Str(pm, "customer") != Id(r))
                    {
                        throw StripeFault.Invalid($"The customer does not have a payment method with the ID {Account.Id(pm)}. The payment method must be attached to the customer.", "invoice_settings[default_payment_method]");
                    }
                    customer["invoice_settings"]!["default_payment_method"] = Account.Id(pm);
                }
            }
            a.Emit("customer.updated", customer, before);
            return Ok(a, customer, f);
        });
        Get("/v1/customers/{id}/payment_methods", (a, f, r) =>
        {
            a.Customer(Id(r));
            return Reply.Ok(Shapes.List($"/v1/customers/{Id(r)}/payment_methods", a.PaymentMethods.Values.Where(p => Account.Str(p, "customer") == Id(r)), f));
        });

        // Products and prices
        Post("/v1/products", (a, f, _) => Ok(a, a.CreateProduct(f.Str("name") ?? throw StripeFault.Missing("name"), f.Metadata("metadata"), f.Str("id")), f));
        Get("/v1/products/{id}", (a, f, r) => Ok(a, Account.Get(a.Products, Id(r), "product"), f));
        Post("/v1/prices", (a, f, _) =>
        {
            var currency = f.Str("currency") ?? throw StripeFault.Missing("currency");
            var amount = f.Long("unit_amount") ?? throw StripeFault.Missing("unit_amount");
            string productId;
            if (f.Str("product") is { } product)
            {
                productId = Account.Id(Account.Get(a.Products, product, "product", "product"));
            }
            else
            {
                var name = f.Str("product_data", "name") ?? throw StripeFault.Missing("product");
                productId = Account.Id(a.CreateProduct(name, f.Metadata("product_data", "metadata")));
            }
            var interval = f.Str("recurring", "interval");
            if (interval is not (null or "day" or "week" or "month" or "year"))
            {
                throw StripeFault.Invalid($"Invalid recurring[interval]: must be one of day, month, week, or year", "recurring[interval]");
            }
            return Ok(a, a.CreatePrice(productId, currency.ToLowerInvariant(), amount, interval, f.Str("lookup_key"), f.Metadata("metadata")), f);
        });
        Get("/v1/prices/{id}", (a, f, r) => Ok(a, a.Price(Id(r)), f));
        Get("/v1/prices", (a, f, _) =>
        {
            var keys = f.Values("lookup_keys");
            var active = f.Bool("active");
            var type = f.Str("type");
            var prices = a.Prices.Values.Where(p =>
                (keys.Count == 0 || keys.Contains(Account.Str(p, "lookup_key") ?? "\0"))
                && (active is null || p["active"]!.GetValue<bool>() == active)
                && (type is null || Account.Str(p, "type") == type));
            return Reply.Ok(Shapes.List("/v1/prices", prices, f, a));
        });

        // Checkout and the billing portal
        Post("/v1/checkout/sessions", (a, f, _) =>
        {
            var session = a.CreateCheckoutSession(f);
            runner.Accounts.IndexSession(Account.Id(session), a);
            return Ok(a, session, f);
        });
        Get("/v1/checkout/sessions/{id}", (a, f, r) => Ok(a, a.CheckoutSession(Id(r)), f));
        Get("/v1/checkout/sessions/{id}/line_items", (a, f, r) =>
        {
            a.CheckoutSession(Id(r));
            return Reply.Ok(a.LineItems(Id(r)));
        });
        Post("/v1/checkout/sessions/{id}/expire", (a, f, r) =>
        {
            var session = a.CheckoutSession(Id(r));
            if (Account.Str(session, "status") != "open")
            {
                throw StripeFault.Invalid($"Only Checkout Sessions with a status in [\"open\"] can be expired. This Checkout Session has a status of \"{Account.Str(session, "status")}\".");
            }
            session["status"] = "expired";
            a.Emit("checkout.session.expired", session);
            return Ok(a, session, f);
        });
        Post("/v1/billing_portal/sessions", (a, f, _) =>
        {
            var session = a.CreatePortalSession(f.Str("customer") ?? throw StripeFault.Missing("customer"), f.Str("return_url"));
            runner.Accounts.IndexSession(Account.Id(session), a);
            return Ok(a, session, f);
        });

        // PaymentIntents
        Post("/v1/payment_intents", (a, f, _) =>
        {
            var amount = f.Long("amount") ?? throw StripeFault.Missing("amount");
            var currency = f.Str("currency") ?? throw StripeFault.Missing("currency");
            var customer = f.Str("customer");
            if (customer is not null)
            {
                a.Customer(customer, "customer");
            }
            var pm = f.Str("payment_method") is { } pmId ? a.ResolvePaymentMethod(pmId) : null;
            var pi = a.CreatePaymentIntent(amount, currency.ToLowerInvariant(), customer, pm is null ? null : Account.Id(pm),
                f.Metadata("metadata"), f.Str("description"), f.Str("setup_future_usage"));
            if (f.Bool("confirm") == true)
            {
                if (a.Confirm(pi) is { } error)
                {
                    throw Account.CardFault(error, pi);
                }
            }
            return Ok(a, pi, f);
        });
        Get("/v1/payment_intents", (a, f, _) =>
        {
            var customer = f.Str("customer");
            return Reply.Ok(Shapes.List("/v1/payment_intents", a.PaymentIntents.Values.Where(p => customer is null || Account.Str(p, "customer") == customer), f, a));
        });
        Get("/v1/payment_intents/{id}", (a, f, r) => Ok(a, Account.Get(a.PaymentIntents, Id(r), "payment_intent"), f));
        Post("/v1/payment_intents/{id}/confirm", (a, f, r) =>
        {
            var pi = Account.Get(a.PaymentIntents, Id(r), "payment_intent");
            if (Account.Str(pi, "status") is not ("requires_payment_method" or "requires_confirmation"))
            {
                throw StripeFault.Invalid($"This PaymentIntent's status is {Account.Str(pi, "status")}; it cannot be confirmed.", null, "payment_intent_unexpected_state");
            }
            if (f.Str("payment_method") is { } pmId)
            {
                pi["payment_method"] = Account.Id(a.ResolvePaymentMethod(pmId));
            }
            if (a.Confirm(pi) is { } error)
            {
                throw Account.CardFault(error, pi);
            }
            return Ok(a, pi, f);
        });

        // PaymentMethods
        Post("/v1/payment_methods", (a, f, _) =>
        {
            if ((f.Str("type") ?? throw StripeFault.Missing("type")) != "card")
            {
                throw StripeFault.Invalid("The stand-in supports only type=card.", "type");
            }
            if (f.Str("card", "token") is { } token && Majestix.StripeStandIn.Billing.Cards.NumberOfToken(token.Replace("tok_", "pm_card_", StringComparison.Ordinal)) is { } tokenNumber)
            {
                return Ok(a, a.CreatePaymentMethod(tokenNumber), f);
            }
            var number = f.Str("card", "number") ?? throw StripeFault.Missing("card[number]");
            return Ok(a, a.CreatePaymentMethod(number, f.Long("card", "exp_month") ?? 12, f.Long("card", "exp_year") ?? 2034), f);
        });
        Get("/v1/payment_methods", (a, f, _) =>
        {
            var customer = f.Str("customer");
            return Reply.Ok(Shapes.List("/v1/payment_methods", a.PaymentMethods.Values.Where(p => customer is null || Account.Str(p, "customer") == customer), f, a));
        });
        Get("/v1/payment_methods/{id}", (a, f, r) => Ok(a, Account.Get(a.PaymentMethods, Id(r), "PaymentMethod"), f));
        Post("/v1/payment_methods/{id}/attach", (a, f, r) =>
        {
            var pm = a.ResolvePaymentMethod(Id(r));
            var customer = f.Str("customer") ?? throw StripeFault.Missing("customer");
            a.Customer(customer, "customer");
            a.Attach(pm, customer);
            a.Emit("payment_method.attached", pm);
            return Ok(a, pm, f);
        });
        Post("/v1/payment_methods/{id}/detach", (a, f, r) =>
        {
            var pm = Account.Get(a.PaymentMethods, Id(r), "PaymentMethod");
            pm["customer"] = null;
            a.Emit("payment_method.detached", pm);
            return Ok(a, pm, f);
        });

        // Subscriptions
        Get("/v1/subscriptions", (a, f, _) =>
        {
            var customer = f.Str("customer");
            var status = f.Str("status");
            var subs = a.Subscriptions.Values.Where(s =>
                (customer is null || Account.Str(s, "customer") == customer)
                && (status == "all" || (status is null ? Account.Str(s, "status") != "canceled" : Account.Str(s, "status") == status)));
            return Reply.Ok(Shapes.List("/v1/subscriptions", subs, f, a));
        });
        Get("/v1/subscriptions/{id}", (a, f, r) => Ok(a, a.Subscription(Id(r)), f));
        Post("/v1/subscriptions/{id}", (a, f, r) => Ok(a, UpdateSubscription(a, a.Subscription(Id(r)), f), f));
        Delete("/v1/subscriptions/{id}", (a, f, r) =>
        {
            var subscription = a.Subscription(Id(r));
            a.CancelSubscription(subscription);
            return Ok(a, subscription, f);
        });

        // Invoices, charges, refunds
        Get("/v1/invoices/{id}", (a, f, r) => Ok(a, Account.Get(a.Invoices, Id(r), "invoice"), f));
        Get("/v1/invoices", (a, f, _) =>
        {
            var customer = f.Str("customer");
            var subscription = f.Str("subscription");
            var invoices = a.Invoices.Values.Where(i =>
                (customer is null || Account.Str(i, "customer") == customer)
                && (subscription is null || i["parent"]?["subscription_details"]?["subscription"]?.GetValue<string>() == subscription));
            return Reply.Ok(Shapes.List("/v1/invoices", invoices, f, a));
        });
        Get("/v1/charges", (a, f, _) =>
        {
            var customer = f.Str("customer");
            var pi = f.Str("payment_intent");
            var charges = a.Charges.Values.Where(c =>
                (customer is null || Account.Str(c, "customer") == customer) && (pi is null || Account.Str(c, "payment_intent") == pi));
            return Reply.Ok(Shapes.List("/v1/charges", charges, f, a));
        });
        Get("/v1/charges/{id}", (a, f, r) => Ok(a, Account.Get(a.Charges, Id(r), "charge"), f));
        Post("/v1/refunds", (a, f, _) =>
        {
            JsonObject charge;
            if (f.Str("charge") is { } chargeId)
            {
                charge = Account.Get(a.Charges, chargeId, "charge", "charge");
            }
            else if (f.Str("payment_intent") is { } piId)
            {
                var pi = Account.Get(a.PaymentIntents, piId, "payment_intent", "payment_intent");
                charge = Account.Str(pi, "latest_charge") is { } latest
                    ? a.Charges[latest]
                    : throw StripeFault.Invalid($"This PaymentIntent ({piId}) does not have a successful charge to refund.", "payment_intent");
            }
            else
            {
                throw StripeFault.Invalid("One of the following params should be provided for this request: payment_intent or charge.", null, "parameter_missing");
            }
            return Ok(a, a.CreateRefund(charge, f.Long("amount"), f.Str("reason"), f.Metadata("metadata")), f);
        });
        Get("/v1/refunds/{id}", (a, f, r) => Ok(a, Account.Get(a.Refunds, Id(r), "refund"), f));
        Get("/v1/refunds", (a, f, _) =>
        {
            var charge = f.Str("charge");
            var pi = f.Str("payment_intent");
            var refunds = a.Refunds.Values.Where(x =>
                (charge is null || Account.Str(x, "charge") == charge) && (pi is null || Account.Str(x, "payment_intent") == pi));
            return Reply.Ok(Shapes.List("/v1/refunds", refunds, f, a));
        });

        // Webhook endpoints and events
        Post("/v1/webhook_endpoints", (a, f, _) =>
        {
            var url = f.Str("url") ?? throw StripeFault.Missing("url");
            if (!Uri.TryCreate(url, UriKind.Absolute, out var parsed) || (parsed.Scheme != Uri.UriSchemeHttp && parsed.Scheme != Uri.UriSchemeHttps))
            {
                throw StripeFault.Invalid($"Invalid URL: {url}", "url", "url_invalid");
            }
            var events = f.Values("enabled_events");
            if (events.Count == 0)
            {
                throw StripeFault.Missing("enabled_events");
            }
            var endpoint = CreateWebhookEndpoint(a, url, events, null, f.Str("description"));
            var reply = Shapes.Expand(a, endpoint, f);
            reply["secret"] = a.EndpointSecrets[Account.Id(endpoint)];
            return Reply.Ok(reply);
        });
        Get("/v1/webhook_endpoints", (a, f, _) => Reply.Ok(Shapes.List("/v1/webhook_endpoints", a.WebhookEndpoints.Values, f)));
        Get("/v1/webhook_endpoints/{id}", (a, f, r) => Ok(a, Account.Get(a.WebhookEndpoints, Id(r), "webhook endpoint"), f));
        Delete("/v1/webhook_endpoints/{id}", (a, f, r) =>
        {
            Account.Get(a.WebhookEndpoints, Id(r), "webhook endpoint");
            a.WebhookEndpoints.Remove(Id(r));
            return Reply.Ok(new JsonObject { ["id"] = Id(r), ["object"] = "webhook_endpoint", ["deleted"] = true });
        });
        Get("/v1/events/{id}", (a, f, r) => Ok(a, Account.Get(a.Events, Id(r), "event"), f));
        Get("/v1/events", (a, f, _) =>
        {
            var type = f.Str("type");
            var types = f.Values("types");
            var events = a.Events.Values.Where(e =>
                (type is null || Matches(Account.Str(e, "type")!, type)) && (types.Count == 0 || types.Contains(Account.Str(e, "type")!)));
            return Reply.Ok(Shapes.List("/v1/events", events, f));
        });
    }

    /// <summary>
    /// Customer search with the query forms the app may use: `email:'x'`, `name:'x'`, `metadata['k']:'v'`,
    /// joined by AND.
    /// </summary>
    private static JsonObject Search(Account a, Form f)
    {
        var query = f.Str("query") ?? throw StripeFault.Missing("query");
        var clauses = new List<Func<JsonObject, bool>>();
        foreach (var clause in query.Split(" AND ", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var match = System.Text.RegularExpressions.Regex.Match(clause, @"^(email|name|metadata\[['""](?<key>[^'""]+)['""]\]):['""](?<value>.*)['""]$");
            if (!match.Success)
            {
                throw StripeFault.Invalid($"The stand-in's search understands email:'x', name:'x' and metadata['k']:'v' joined by AND, not: {clause}", "query");
            }
            var value = match.Groups["value"].Value;
            var key = match.Groups["key"].Value;
            clauses.Add(clause.StartsWith("email", StringComparison.Ordinal) ? c => Account.Str(c, "email") == value
                : clause.StartsWith("name", StringComparison.Ordinal) ? c => Account.Str(c, "name") == value
                : c => c["metadata"]?[key]?.GetValue<string>() == value);
        }
        var found = a.Customers.Values.Where(c => clauses.All(test => test(c))).Reverse().Take((int)Math.Clamp(f.Long("limit") ?? 10, 1, 100));
        return new JsonObject
        {
            ["object"] = "search_result",
            ["data"] = new JsonArray([.. found.Select(c => c.DeepClone())]),
            ["has_more"] = false,
            ["next_page"] = null,
            ["url"] = "/v1/customers/search",
        };
    }

    /// <summary>Stripe's answer to a path it does not know (Stripe.net reads it as any other error).</summary>
    public static void MapUnknownApiPaths(this WebApplication app) =>
        app.Map("/v1/{**rest}", (HttpContext c) => ApiRunner.WriteAsync(c, new Reply(404, new JsonObject
        {
            ["error"] = new JsonObject
            {
                ["type"] = "invalid_request_error",
                ["message"] = $"Unrecognized request URL ({c.Request.Method}: {c.Request.Path}). The Stripe stand-in implements only part of the API: see tools/Majestix.StripeStandIn/README.md.",
            },
        }), replayed: false));

    /// <summary>Stripe's event type filter accepts a trailing wildcard (`invoice.*`).</summary>
    private static bool Matches(string type, string filter) =>
        filter.EndsWith(".*", StringComparison.Ordinal) ? type.StartsWith(filter[..^1], StringComparison.Ordinal) : type == filter;

    public static JsonObject CreateWebhookEndpoint(Account a, string url, IReadOnlyList<string> events, string? secret, string? description)
    {
        var endpoint = new JsonObject
        {
            ["id"] = Ids.New("we_"),
            ["object"] = "webhook_endpoint",
            ["api_version"] = Stripe.StripeConfiguration.ApiVersion,
            ["application"] = null,
            ["created"] = Ids.Now(),
            ["description"] = description,
            ["enabled_events"] = new JsonArray([.. events.Select(e => (JsonNode)e)]),
            ["livemode"] = false,
            ["metadata"] = new JsonObject(),
            ["status"] = "enabled",
            ["url"] = url,
        };
        a.WebhookEndpoints[Account.Id(endpoint)] = endpoint;
        a.EndpointSecrets[Account.Id(endpoint)] = secret ?? Ids.New("whsec_", 32);
        return endpoint;
    }

    private static JsonObject UpdateSubscription(Account a, JsonObject subscription, Form f)
    {
        var before = subscription.DeepClone().AsObject();
        var changed = false;
        if (f.Metadata("metadata") is { } metadata)
        {
            Account.MergeMetadata(subscription, metadata);
            changed = true;
        }
        if (f.Bool("cancel_at_period_end") is { } atEnd)
        {
            if (Account.Str(subscription, "status") == "canceled")
            {
                throw StripeFault.Invalid("A canceled subscription can only update its cancellation_details and metadata.");
            }
            subscription["cancel_at_period_end"] = atEnd;
            subscription["cancel_at"] = atEnd ? Account.Num(Account.Item(subscription), "current_period_end") : null;
            subscription["canceled_at"] = atEnd ? Ids.Now() : null;
            subscription["cancellation_details"]!["reason"] = atEnd ? "cancellation_requested" : null;
            changed = true;
        }
        if (f.Str("default_payment_method") is { } pmId)
        {
            subscription["default_payment_method"] = Account.Id(a.ResolvePaymentMethod(pmId, "default_payment_method"));
            changed = true;
        }
        if (f.Str("items", "0", "price") is { } priceId)
        {
            var itemId = f.Str("items", "0", "id");
            if (itemId is not null && itemId != Account.Id(Account.Item(subscription)))
            {
                throw StripeFault.Invalid($"Invalid subscription_item id: {itemId}", "items[0][id]", "resource_missing");
            }
            if (itemId is null)
            {
                throw StripeFault.Invalid("The stand-in's subscriptions have one item: pass items[0][id] to change its price.", "items[0][id]", "parameter_missing");
            }
            var price = a.Price(priceId, "items[0][price]");
            var invoiceNow = f.Str("proration_behavior") == "always_invoice" || f.Str("billing_cycle_anchor") == "now";
            if (invoiceNow)
            {
                a.SwitchPrice(subscription, price);
                return subscription;
            }
            if (price["recurring"] is null)
            {
                throw StripeFault.Invalid("The price specified is set to `type=one_time` but this field only accepts prices with `type=recurring`.", "items[0][price]");
            }
            Account.Item(subscription)["price"] = price.DeepClone();
            changed = true;
        }
        if (changed)
        {
            a.Emit("customer.subscription.updated", subscription, before);
        }
        return subscription;
    }
}
