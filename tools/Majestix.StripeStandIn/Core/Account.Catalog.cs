using System.Globalization;
using System.Text.Json.Nodes;

namespace Majestix.StripeStandIn.Core;

// Customers, products and prices.
internal sealed partial class Account
{
    public JsonObject CreateCustomer(string? email, string? name, JsonObject? metadata)
    {
        var customer = new JsonObject
        {
            ["id"] = Ids.New("cus_", 14),
            ["object"] = "customer",
            ["address"] = null,
            ["balance"] = 0,
            ["created"] = Ids.Now(),
            ["currency"] = null,
            ["default_source"] = null,
            ["delinquent"] = false,
            ["description"] = null,
            ["email"] = email,
            ["invoice_prefix"] = Ids.New("", 8).ToUpperInvariant(),
            ["invoice_settings"] = new JsonObject
            {
                ["custom_fields"] = null,
                ["default_payment_method"] = null,
                ["footer"] = null,
                ["rendering_options"] = null,
            },
            ["livemode"] = false,
            ["metadata"] = metadata ?? [],
            ["name"] = name,
            ["phone"] = null,
            ["preferred_locales"] = new JsonArray(),
            ["shipping"] = null,
            ["tax_exempt"] = "none",
        };
        Customers[Id(customer)] = customer;
        return customer;
    }

    public JsonObject Customer(string id, string? param = null) => Get(Customers, id, "customer", param);

    public static void MergeMetadata(JsonObject target, JsonObject? changes)
    {
        if (changes is null)
        {
            return;
        }
        var metadata = target["metadata"]!.AsObject();
        foreach (var (key, value) in changes)
        {
            if (value!.GetValue<string>().Length == 0)
            {
                metadata.Remove(key);
            }
            else
            {
                metadata[key] = value.GetValue<string>();
            }
        }
    }

    public JsonObject CreateProduct(string name, JsonObject? metadata = null, string? id = null)
    {
        var product = new JsonObject
        {
            ["id"] = id ?? Ids.New("prod_", 14),
            ["object"] = "product",
            ["active"] = true,
            ["created"] = Ids.Now(),
            ["default_price"] = null,
            ["description"] = null,
            ["images"] = new JsonArray(),
            ["livemode"] = false,
            ["marketing_features"] = new JsonArray(),
            ["metadata"] = metadata ?? [],
            ["name"] = name,
            ["package_dimensions"] = null,
            ["shippable"] = null,
            ["statement_descriptor"] = null,
            ["tax_code"] = null,
            ["type"] = "service",
            ["unit_label"] = null,
            ["updated"] = Ids.Now(),
            ["url"] = null,
        };
        Products[Id(product)] = product;
        return product;
    }

    public JsonObject CreatePrice(string productId, string currency, long unitAmount, string? interval, string? lookupKey, JsonObject? metadata, string? id = null)
    {
        if (lookupKey is not null)
        {
            // Stripe refuses a lookup key already in use unless transfer_lookup_key=true; the stand-in transfers it.
            foreach (var other in Prices.Values.Where(p => p["lookup_key"]?.GetValue<string>() == lookupKey))
            {
                other["lookup_key"] = null;
            }
        }
        var price = new JsonObject
        {
            ["id"] = id ?? Ids.New("price_"),
            ["object"] = "price",
            ["active"] = true,
            ["billing_scheme"] = "per_unit",
            ["created"] = Ids.Now(),
            ["currency"] = currency,
            ["custom_unit_amount"] = null,
            ["livemode"] = false,
            ["lookup_key"] = lookupKey,
            ["metadata"] = metadata ?? [],
            ["nickname"] = null,
            ["product"] = productId,
            ["recurring"] = interval is null ? null : new JsonObject
            {
                ["interval"] = interval,
                ["interval_count"] = 1,
                ["meter"] = null,
                ["trial_period_days"] = null,
                ["usage_type"] = "licensed",
            },
            ["tax_behavior"] = "unspecified",
            ["tiers_mode"] = null,
            ["transform_quantity"] = null,
            ["type"] = interval is null ? "one_time" : "recurring",
            ["unit_amount"] = unitAmount,
            ["unit_amount_decimal"] = unitAmount.ToString(CultureInfo.InvariantCulture),
        };
        Prices[Id(price)] = price;
        return price;
    }

    public JsonObject Price(string id, string? param = null) => Get(Prices, id, "price", param);

    public static string Id(JsonObject obj) => obj["id"]!.GetValue<string>();

    public static string? Str(JsonObject obj, string field) => obj[field]?.GetValue<string>();

    public static long Num(JsonObject obj, string field) => obj[field] switch
    {
        JsonValue v when v.TryGetValue<long>(out var l) => l,
        JsonValue v when v.TryGetValue<int>(out var i) => i,
        _ => 0,
    };
}
