using System.Globalization;
using System.Text.Json.Nodes;
using Majestix.StripeStandIn.Core;

namespace Majestix.StripeStandIn.Api;

/// <summary>Lists and `expand[]` as Stripe answers them.</summary>
internal static class Shapes
{
    /// <summary>`{"object":"list","data":[...],"has_more":..,"url":..}`, newest first, honouring limit and starting_after.</summary>
    public static JsonObject List(string url, IEnumerable<JsonObject> items, Form form, Account? account = null)
    {
        var limit = (int)Math.Clamp(form.Long("limit") ?? 10, 1, 100);
        var ordered = items.Reverse().ToList(); // stores keep insertion order: newest last
        if (form.Str("starting_after") is { } after)
        {
            var index = ordered.FindIndex(o => Account.Id(o) == after);
            ordered = index < 0 ? [] : ordered[(index + 1)..];
        }
        var page = ordered.Take(limit).Select(o => account is null ? o.DeepClone() : Expand(account, o, form, "data.")).ToList();
        return new JsonObject
        {
            ["object"] = "list",
            ["data"] = new JsonArray([.. page]),
            ["has_more"] = ordered.Count > limit,
            ["url"] = url,
        };
    }

    /// <summary>A copy of <paramref name="obj"/> with each `expand[]` field's id replaced by its object.</summary>
    public static JsonObject Expand(Account account, JsonObject obj, Form form, string prefix = "")
    {
        var copy = obj.DeepClone().AsObject();
        foreach (var path in form.Values("expand"))
        {
            if (!path.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }
            var field = path[prefix.Length..];
            if (field == "line_items" && Account.Str(obj, "object") == "checkout.session")
            {
                copy["line_items"] = account.LineItems(Account.Id(obj));
                continue;
            }
            var parts = field.Split('.');
            JsonObject? target = copy;
            for (var i = 0; i < parts.Length - 1 && target is not null; i++)
            {
                target = target[parts[i]] as JsonObject;
            }
            var leaf = parts[^1];
            if (target?[leaf] is JsonValue value && value.TryGetValue<string>(out var id) && Lookup(account, id) is { } found)
            {
                target[leaf] = found.DeepClone();
            }
        }
        return copy;
    }

    public static JsonObject? Lookup(Account account, string id)
    {
        var store = id[..(id.IndexOf('_', StringComparison.Ordinal) + 1)] switch
        {
            "cus_" => account.Customers,
            "pm_" => account.PaymentMethods,
            "ch_" => account.Charges,
            "pi_" => account.PaymentIntents,
            "sub_" => account.Subscriptions,
            "in_" => account.Invoices,
            "price_" => account.Prices,
            "prod_" => account.Products,
            "re_" => account.Refunds,
            "cs_" => account.CheckoutSessions,
            _ => null,
        };
        return store?.GetValueOrDefault(id);
    }

    public static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);
}
