using System.Text.Json.Nodes;
using Microsoft.AspNetCore.WebUtilities;

namespace Majestix.StripeStandIn.Core;

/// <summary>
/// Stripe's form encoding: `a[b][0][c]=v`, `expand[]=x`, read into a tree. Query string and body are
/// merged (Stripe.net sends GET parameters in the query and POST parameters in the body).
/// </summary>
internal sealed class Form
{
    private readonly Node _root = new();

    public string Raw { get; private set; } = "";

    public static async Task<Form> ReadAsync(HttpRequest request)
    {
        var form = new Form();
        foreach (var (key, values) in QueryHelpers.ParseQuery(request.QueryString.Value))
        {
            foreach (var value in values)
            {
                form.Add(key, value ?? "");
            }
        }
        if (request.ContentLength is > 0 || request.Headers.TransferEncoding.Count > 0)
        {
            using var reader = new StreamReader(request.Body);
            form.Raw = await reader.ReadToEndAsync(request.HttpContext.RequestAborted);
            var contentType = request.ContentType ?? "";
            if (contentType.Contains("json", StringComparison.OrdinalIgnoreCase))
            {
                if (JsonNode.Parse(form.Raw) is JsonObject json)
                {
                    foreach (var (key, value) in json)
                    {
                        form.Add(key, value is JsonValue v ? v.ToString() : value?.ToJsonString() ?? "");
                    }
                }
            }
            else
            {
                foreach (var (key, values) in QueryHelpers.ParseQuery(form.Raw))
                {
                    foreach (var value in values)
                    {
                        form.Add(key, value ?? "");
                    }
                }
            }
        }
        return form;
    }

    public void Add(string key, string value)
    {
        var segments = new List<string>();
        var open = key.IndexOf('[', StringComparison.Ordinal);
        segments.Add(open < 0 ? key : key[..open]);
        while (open >= 0)
        {
            var close = key.IndexOf(']', open);
            if (close < 0)
            {
                break;
            }
            segments.Add(key[(open + 1)..close]);
            open = key.IndexOf('[', close);
        }
        var node = _root;
        foreach (var segment in segments)
        {
            node.Children ??= [];
            var name = segment.Length == 0 ? node.Children.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) : segment;
            if (!node.Children.TryGetValue(name, out var child))
            {
                child = new Node();
                node.Children[name] = child;
            }
            node = child;
        }
        node.Value = value;
    }

    public bool Has(params string[] path) => Find(path) is not null;

    public string? Str(params string[] path) => Find(path)?.Value;

    public long? Long(params string[] path)
    {
        var value = Str(path);
        if (value is null)
        {
            return null;
        }
        return long.TryParse(value, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var number)
            ? number
            : throw StripeFault.Invalid($"Invalid integer: {value}", string.Join("", path.Select((p, i) => i == 0 ? p : $"[{p}]")));
    }

    public bool? Bool(params string[] path) => Str(path) switch
    {
        null => null,
        "true" => true,
        "false" => false,
        var other => throw StripeFault.Invalid($"Invalid boolean: {other}", path[0]),
    };

    /// <summary>The values under a list parameter (`expand[]=a&amp;expand[]=b` or `expand[0]=a`).</summary>
    public IReadOnlyList<string> Values(params string[] path)
    {
        var node = Find(path);
        if (node?.Children is null)
        {
            return node?.Value is { } single ? [single] : [];
        }
        return [.. node.Children.Values.Select(c => c.Value).OfType<string>()];
    }

    /// <summary>`metadata[k]=v` as a JSON object; an empty value removes the key (when merging).</summary>
    public JsonObject? Metadata(params string[] path)
    {
        var node = Find(path);
        if (node is null)
        {
            return null;
        }
        var result = new JsonObject();
        foreach (var (key, child) in node.Children ?? [])
        {
            result[key] = child.Value ?? "";
        }
        return result;
    }

    public bool Expands(string field) => Values("expand").Contains(field);

    private Node? Find(string[] path)
    {
        var node = _root;
        foreach (var segment in path)
        {
            if (node.Children is null || !node.Children.TryGetValue(segment, out var child))
            {
                return null;
            }
            node = child;
        }
        return node;
    }

    private sealed class Node
    {
        public string? Value { get; set; }

        public Dictionary<string, Node>? Children { get; set; }
    }
}
