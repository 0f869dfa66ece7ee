using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Majestix.StripeStandIn.Billing;
using Majestix.StripeStandIn.Core;

namespace Majestix.StripeStandIn.Hosted;

/// <summary>
/// The hosted Checkout and billing portal pages a person clicks through, and the POSTs their buttons
/// send (scripts use the same POSTs with `Accept: application/json`).
/// </summary>
internal static class HostedPages
{
    public static void MapHostedPages(this WebApplication app)
    {
        var runner = app.Services.GetRequiredService<ApiRunner>();

        app.MapGet("/checkout/{id}", (string id, string? error) =>
        {
            if (runner.Accounts.BySession(id) is not { } account)
            {
                return Results.NotFound();
            }
            return Results.Content(runner.Change(account, () => CheckoutPage(account, account.CheckoutSession(id), error)), "text/html; charset=utf-8");
        });
        app.MapPost("/checkout/{id}/pay", async (string id, HttpContext context) =>
        {
            var form = await Form.ReadAsync(context.Request);
            return Outcome(context, runner, id, account =>
                account.PayCheckout(account.CheckoutSession(id), form.Str("card") ?? Cards.Visa, form.Str("async") is "true" or "on" or "1"));
        });
        app.MapPost("/checkout/{id}/async", async (string id, HttpContext context) =>
        {
            var form = await Form.ReadAsync(context.Request);
            var outcome = form.Str("outcome") ?? "succeeded";
            return Outcome(context, runner, id, account => account.SettleCheckout(account.CheckoutSession(id), outcome == "succeeded"));
        });

        app.MapGet("/portal/{id}", (string id, string? message) =>
        {
            if (runner.Accounts.BySession(id) is not { } account)
            {
                return Results.NotFound();
            }
            return Results.Content(runner.Change(account, () => PortalPage(account, account.PortalSession(id), message)), "text/html; charset=utf-8");
        });
        app.MapPost("/portal/{id}/cancel", (string id, HttpContext context) => Outcome(context, runner, id, account =>
        {
            var portal = account.PortalSession(id);
            var subscription = account.PortalSubscription(portal) ?? throw StripeFault.Invalid("This customer has no subscription to cancel.");
            account.CancelSubscription(subscription);
            return new PageOutcome("canceled", PortalUrl(account, id, "Subscription canceled."));
        }));
        app.MapPost("/portal/{id}/switch", async (string id, HttpContext context) =>
        {
            var form = await Form.ReadAsync(context.Request);
            return Outcome(context, runner, id, account =>
            {
                var portal = account.PortalSession(id);
                var subscription = account.PortalSubscription(portal) ?? throw StripeFault.Invalid("This customer has no subscription to switch.");
                var price = account.Price(form.Str("price") ?? throw StripeFault.Missing("price"), "price");
                var invoice = account.SwitchPrice(subscription, price);
                return Account.Str(invoice, "status") == "paid"
                    ? new PageOutcome("switched", PortalUrl(account, id, "Plan switched."))
                    : new PageOutcome("past_due", PortalUrl(account, id, "Plan switched, but the card was declined: the subscription is past due."));
            });
        });
        app.MapPost("/portal/{id}/card", async (string id, HttpContext context) =>
        {
            var form = await Form.ReadAsync(context.Request);
            return Outcome(context, runner, id, account =>
            {
                var portal = account.PortalSession(id);
                account.ReplaceCard(Account.Str(portal, "customer")!, form.Str("card") ?? throw StripeFault.Missing("card"));
                return new PageOutcome("updated", PortalUrl(account, id, "Card updated."));
            });
        });
    }

    private static string PortalUrl(Account account, string id, string message) =>
        $"{account.PublicUrl}/portal/{id}?message={Uri.EscapeDataString(message)}";

    /// <summary>JSON `{"status","redirect"}` for `Accept: application/json`, else a 303 to where the page goes next.</summary>
    private static IResult Outcome(HttpContext context, ApiRunner runner, string id, Func<Account, PageOutcome> action)
    {
        var wantsJson = context.Request.Headers.Accept.ToString().Contains("application/json", StringComparison.OrdinalIgnoreCase);
        if (runner.Accounts.BySession(id) is not { } account)
        {
            return wantsJson ? Results.Json(new JsonObject { ["error"] = $"No such session: '{id}'" }, statusCode: 404) : Results.NotFound();
        }
        PageOutcome outcome;
        try
        {
            outcome = runner.Change(account, () => action(account));
        }
        catch (StripeFault fault)
        {
            return wantsJson
                ? Results.Content(fault.ToReply().Body.ToJsonString(), "application/json", statusCode: fault.Status)
                : Results.Content(Page("Not possible", $"<p>{H(fault.Message)}</p>"), "text/html; charset=utf-8", statusCode: fault.Status);
        }
        if (wantsJson)
        {
            var body = new JsonObject { ["status"] = outcome.Status, ["redirect"] = outcome.Redirect, ["message"] = outcome.Message };
            return Results.Content(body.ToJsonString(), "application/json");
        }
        context.Response.Headers.Location = outcome.Redirect;
        return Results.StatusCode(StatusCodes.Status303SeeOther);
    }

    private static string CheckoutPage(Account account, JsonObject session, string? error)
    {
        var id = Account.Id(session);
        var (priceId, quantity) = account.SessionLines[id];
        var price = account.Prices[priceId];
        var product = account.Products.TryGetValue(Account.Str(price, "product")!, out var p) ? Account.Str(p, "name") : priceId;
        var recurring = price["recurring"]?["interval"]?.GetValue<string>();
        var amount = Account.FormatMoney(Account.Num(session, "amount_total")) + (recurring is null ? "" : $" / {recurring}");
        var body = new StringBuilder();
        body.Append($"<p class=\"what\">{H(product)} × {quantity}</p><p class=\"amount\">{H(amount)}</p>");
        body.Append($"<p class=\"muted\">Session {H(id)}: {H(Account.Str(session, "status"))}, {H(Account.Str(session, "payment_status"))}</p>");
        if (error == "declined")
        {
            body.Append("<p class=\"error\">Your card was declined. Nothing was charged; try another card.</p>");
        }
        else if (error == "requires_action")
        {
            body.Append("<p class=\"error\">The bank asked to authenticate this payment (3-D Secure), which the stand-in cannot do. Nothing was charged; try another card.</p>");
        }
        if (Account.Str(session, "status") == "open")
        {
            Button(body, $"/checkout/{id}/pay", "Pay with 4242 4242 4242 4242", ("card", Cards.Visa));
            Button(body, $"/checkout/{id}/pay", "Pay with 4000 0000 0000 0002 (declined)", ("card", Cards.Declined));
            Button(body, $"/checkout/{id}/pay", "Pay with 4000 0027 6000 3184 (needs authentication)", ("card", Cards.AuthenticationRequired));
            if (Account.Str(session, "mode") == "payment")
            {
                Button(body, $"/checkout/{id}/pay", "Pay, settles later (async)", ("card", Cards.Visa), ("async", "true"));
            }
            if (Account.Str(session, "cancel_url") is { } cancel)
            {
                body.Append($"<p><a href=\"{H(cancel)}\">Cancel and go back</a></p>");
            }
        }
        else if (Account.Str(session, "payment_status") == "unpaid" && Account.Str(session, "status") == "complete")
        {
            body.Append("<p>The payment is settling.</p>");
            Button(body, $"/checkout/{id}/async", "Settle: payment succeeded", ("outcome", "succeeded"));
            Button(body, $"/checkout/{id}/async", "Settle: payment failed", ("outcome", "failed"));
        }
        return Page("Checkout (Stripe stand-in)", body.ToString());
    }

    private static string PortalPage(Account account, JsonObject portal, string? message)
    {
        var id = Account.Id(portal);
        var customer = account.Customer(Account.Str(portal, "customer")!);
        var body = new StringBuilder();
        if (message is not null)
        {
            body.Append($"<p class=\"notice\">{H(message)}</p>");
        }
        body.Append($"<p>Customer {H(Account.Str(customer, "email") ?? Account.Id(customer))}</p>");
        var subscription = account.PortalSubscription(portal);
        if (subscription is null)
        {
            body.Append("<p>No current subscription.</p>");
        }
        else
        {
            var item = Account.Item(subscription);
            var price = item["price"]!.AsObject();
            var period = $"{Date(Account.Num(item, "current_period_start"))} → {Date(Account.Num(item, "current_period_end"))}";
            body.Append($"<h2>{H(ProductName(account, price))}: {H(Account.FormatMoney(Account.Num(price, "unit_amount")))} / {H(price["recurring"]?["interval"]?.GetValue<string>())}</h2>");
            body.Append($"<p>Status <b>{H(Account.Str(subscription, "status"))}</b>, period {H(period)}</p>");
            Button(body, $"/portal/{id}/cancel", "Cancel subscription now");
            foreach (var other in account.Prices.Values.Where(x => x["recurring"] is not null && x["active"]!.GetValue<bool>() && Account.Id(x) != Account.Id(price)))
            {
                Button(body, $"/portal/{id}/switch", $"Switch to {ProductName(account, other)} ({Account.FormatMoney(Account.Num(other, "unit_amount"))} / {other["recurring"]!["interval"]})", ("price", Account.Id(other)));
            }
        }
        var pmId = customer["invoice_settings"]!["default_payment_method"]?.GetValue<string>() ?? (subscription is null ? null : Account.Str(subscription, "default_payment_method"));
        if (pmId is not null && account.PaymentMethods.TryGetValue(pmId, out var pm))
        {
            body.Append($"<p>Card: {H(pm["card"]!["brand"]!.GetValue<string>())} •••• {H(pm["card"]!["last4"]!.GetValue<string>())}</p>");
        }
        Button(body, $"/portal/{id}/card", "Update card to 4242 4242 4242 4242", ("card", Cards.Visa));
        Button(body, $"/portal/{id}/card", "Update card to 4000 0000 0000 0002 (declines)", ("card", Cards.Declined));
        Button(body, $"/portal/{id}/card", "Update card to 4000 0027 6000 3184 (needs authentication)", ("card", Cards.AuthenticationRequired));
        if (Account.Str(portal, "return_url") is { } back)
        {
            body.Append($"<p><a href=\"{H(back)}\">Back</a></p>");
        }
        return Page("Billing portal (Stripe stand-in)", body.ToString());
    }

    private static string ProductName(Account account, JsonObject price) =>
        account.Products.TryGetValue(Account.Str(price, "product")!, out var p) ? Account.Str(p, "name")! : Account.Id(price);

    private static string Date(long unix) => DateTimeOffset.FromUnixTimeSeconds(unix).ToString("yyyy-MM-dd HH:mm 'UTC'", System.Globalization.CultureInfo.InvariantCulture);

    private static void Button(StringBuilder body, string action, string label, params (string Name, string Value)[] fields)
    {
        body.Append($"<form method=\"post\" action=\"{H(action)}\">");
        foreach (var (name, value) in fields)
        {
            body.Append($"<input type=\"hidden\" name=\"{H(name)}\" value=\"{H(value)}\">");
        }
        body.Append($"<button type=\"submit\">{H(label)}</button></form>");
    }

    private static string Page(string title, string body) => $$"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>{{H(title)}}</title>
        <style>
        body { font-family: system-ui, sans-serif; max-width: 32rem; margin: 3rem auto; color: #222; }
        .amount { font-size: 2rem; font-weight: 600; margin: .2rem 0 1rem; }
        .muted { color: #777; font-size: .85rem; }
        .error { color: #b00020; } .notice { color: #0a6; }
        form { margin: .5rem 0; } button { width: 100%; padding: .7rem; font-size: 1rem; cursor: pointer; }
        .banner { background: #fff3cd; padding: .4rem .6rem; font-size: .85rem; }
        </style></head>
        <body><p class="banner">Local Stripe stand-in: test mode, no real money.</p><h1>{{H(title)}}</h1>{{body}}</body></html>
        """;

    private static string H(string? text) => WebUtility.HtmlEncode(text ?? "");
}
