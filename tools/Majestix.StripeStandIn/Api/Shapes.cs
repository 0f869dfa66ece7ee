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
            if (field == "refunds" && Account.Str(obj, "object") == "charge")
            {
                var refunds = account.Refunds.Values.Where(r => Account.Str(r, "charge") == Account.Id(obj)).Reverse().Select(r => (JsonNode)r.DeepClone());
                copy["refunds"] = new JsonObject
                {
                    ["object"] = "list",
                    ["data"] = new JsonArray([.. refunds]),
                    ["has_more"] = false,
                    ["url"] = $"/v1/charges/{Account.Id(obj)}/refunds",
                };
                continue;
            }
            ExpandPath(account, copy, field.Split('.'), 0);
        }
        return copy;
    }

    /// <summary>
    /// The fields Stripe lets `expand[]` replace, by the type of the object holding them (a nested object
    /// without its own `object` is named after its parent: `customer.invoice_settings`). Other fields keep
    /// their id, so a Stripe.net type that expects a string never meets an object.
    /// </summary>
    private static readonly Dictionary<string, string[]> Expandable = new()
    {
        ["payment_intent"] = ["customer", "payment_method", "latest_charge"],
        ["charge"] = ["customer", "payment_intent"],
        ["checkout.session"] = ["customer", "payment_intent", "subscription", "invoice"],
        ["subscription"] = ["customer", "default_payment_method", "latest_invoice"],
        ["price"] = ["product"],
        ["invoice"] = ["customer", "default_payment_method"],
        ["invoice_payment.payment"] = ["payment_intent"],
        ["refund"] = ["charge", "payment_intent"],
        ["payment_method"] = ["customer"],
        ["customer.invoice_settings"] = ["default_payment_method"],
        ["line_item.pricing.price_details"] = ["price"],
    };

    // Walks objects by name and every element of an array (`items.data.price.product`), then swaps the id at the end.
    private static void ExpandPath(Account account, JsonNode? node, string[] parts, int index, string type = "")
    {
        if (node is JsonArray array)
        {
            foreach (var element in array)
            {
                ExpandPath(account, element, parts, index, type);
            }
            return;
        }
        if (node is not JsonObject obj)
        {
            return;
        }
        type = obj["object"] is JsonValue own && own.TryGetValue<string>(out var ownType) ? ownType : type;
        var name = parts[index];
        var expandable = Expandable.TryGetValue(type, out var fields) && fields.Contains(name);
        if (expandable && obj[name] is JsonValue value && value.TryGetValue<string>(out var id) && Lookup(account, id) is { } found)
        {
            obj[name] = found.DeepClone();
        }
        if (index < parts.Length - 1)
        {
            ExpandPath(account, obj[name], parts, index + 1, $"{type}.{name}");
        }
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
