using System.Text.Json.Nodes;
using Majestix.StripeStandIn.Core;
using Majestix.StripeStandIn.Webhooks;

namespace Majestix.StripeStandIn.Control;

/// <summary>
/// `/_stand-in/*`: what tests and scripts do that Stripe does on its own clock (renewals, retries) or
/// that makes delivery misbehave. Authorized with the account's key like the API; JSON in and out.
/// </summary>
internal static class ControlEndpoints
{
    public static void MapControl(this WebApplication app)
    {
        var runner = app.Services.GetRequiredService<ApiRunner>();
        var dispatcher = app.Services.GetRequiredService<WebhookDispatcher>();
        var group = app.MapGroup("/_stand-in");
        void Post(string pattern, Func<Account, JsonObject, RouteValueDictionary, Reply> handler) =>
            group.MapPost(pattern, (HttpContext c) => RunAsync(c, runner, handler));
        static string Route(RouteValueDictionary route, string name) => (string)route[name]!;

        Post("/subscriptions/{sub}/advance", (a, body, r) =>
        {
            var subscription = a.Subscription(Route(r, "sub"));
            var invoice = a.Advance(subscription, body["exhaust_retries"]?.GetValue<bool>() == true);
            return Reply.Ok(new JsonObject { ["invoice"] = invoice?.DeepClone(), ["subscription"] = subscription.DeepClone() });
        });
        Post("/subscriptions/{sub}/pay-latest", (a, _, r) =>
        {
            var subscription = a.Subscription(Route(r, "sub"));
            var invoice = a.PayLatest(subscription) ?? throw StripeFault.Invalid($"Subscription {Route(r, "sub")} has no open invoice.");
            return Reply.Ok(new JsonObject { ["invoice"] = invoice.DeepClone(), ["subscription"] = subscription.DeepClone() });
        });
        Post("/customers/{cus}/card", (a, body, r) =>
        {
            var card = body["card"]?.GetValue<string>() ?? throw StripeFault.Missing("card");
            var pm = a.ReplaceCard(Route(r, "cus"), card);
            return Reply.Ok(new JsonObject { ["payment_method"] = pm.DeepClone(), ["customer"] = a.Customer(Route(r, "cus")).DeepClone() });
        });
        group.MapPut("/delivery", (HttpContext c) => RunAsync(c, runner, (a, body, _) =>
        {
            a.Knobs = new DeliveryKnobs(
                body["duplicates"]?.GetValue<int>() ?? 0,
                body["delay_ms"]?.GetValue<int>() ?? 0,
                body["reorder"]?.GetValue<bool>() ?? false,
                body["hold"]?.GetValue<bool>() ?? false);
            return Reply.Ok(Knobs(a));
        }));
        group.MapGet("/delivery", (HttpContext c) => RunAsync(c, runner, (a, _, _) => Reply.Ok(Knobs(a))));
        group.MapPost("/delivery/release", async (HttpContext c) =>
        {
            var account = await AuthenticateAsync(c, runner);
            if (account is null)
            {
                return;
            }
            var released = dispatcher.Release(account);
            await ApiRunner.WriteAsync(c, Reply.Ok(new JsonObject { ["released"] = released }), replayed: false);
        });
        group.MapGet("/deliveries", (HttpContext c) => RunAsync(c, runner, (a, _, _) =>
            Reply.Ok(new JsonArray([.. a.DeliveryLog.Select(d => d.DeepClone())]))));
        group.MapPost("/events/{evt}/resend", async (string evt, HttpContext c) =>
        {
            var account = await AuthenticateAsync(c, runner);
            if (account is null)
            {
                return;
            }
            JsonObject? found;
            lock (account.Gate)
            {
                found = account.Events.GetValueOrDefault(evt);
            }
            if (found is null)
            {
                await ApiRunner.WriteAsync(c, StripeFault.NoSuch("event", evt).ToReply(), replayed: false);
                return;
            }
            var attempts = await dispatcher.ResendAsync(account, found);
            await ApiRunner.WriteAsync(c, Reply.Ok(new JsonObject { ["deliveries"] = new JsonArray([.. attempts]) }), replayed: false);
        });
        Post("/reset", (a, _, _) =>
        {
            a.Reset();
            if (a.Key == runner.Accounts.Options.DevAccountKey)
            {
                StandInExtensions.SeedDevAccount(a, runner.Accounts.Options);
            }
            return Reply.Ok(new JsonObject { ["reset"] = true });
        });
    }

    private static JsonObject Knobs(Account a) => new()
    {
        ["duplicates"] = a.Knobs.Duplicates,
        ["delay_ms"] = a.Knobs.DelayMs,
        ["reorder"] = a.Knobs.Reorder,
        ["hold"] = a.Knobs.Hold,
        ["held"] = a.Held.Count,
    };

    private static async Task<Account?> AuthenticateAsync(HttpContext context, ApiRunner runner)
    {
        try
        {
            return runner.Accounts.Authenticate(context);
        }
        catch (StripeFault fault)
        {
            await ApiRunner.WriteAsync(context, fault.ToReply(), replayed: false);
            return null;
        }
    }

    private static Task RunAsync(HttpContext context, ApiRunner runner, Func<Account, JsonObject, RouteValueDictionary, Reply> handler) =>
        runner.RunAsync(context, (account, form) =>
        {
            var body = form.Raw.Length == 0 ? [] : JsonNode.Parse(form.Raw) as JsonObject ?? [];
            return handler(account, body, context.Request.RouteValues);
        });
}
