using System.Text.Json.Nodes;

namespace Majestix.StripeStandIn.Core;

/// <summary>A Stripe error answer: `{"error":{...}}` with the HTTP status Stripe uses for it.</summary>
internal sealed class StripeFault(int status, JsonObject error) : Exception(error["message"]?.GetValue<string>())
{
    public int Status { get; } = status;

    public JsonObject Error { get; } = error;

    public Reply ToReply() => new(Status, new JsonObject { ["error"] = Error.DeepClone() });

    public static StripeFault Invalid(string message, string? param = null, string? code = null) => new(400, new JsonObject
    {
        ["type"] = "invalid_request_error",
        ["message"] = message,
        ["param"] = param,
        ["code"] = code,
        ["doc_url"] = code is null ? null : $"https://stripe.com/docs/error-codes/{code.Replace('_', '-')}",
    });

    public static StripeFault Missing(string param) =>
        Invalid($"Missing required param: {param}.", param, "parameter_missing");

    /// <summary>`No such customer: 'cus_x'` (404 for a path id; 400 with the param for a body parameter).</summary>
    public static StripeFault NoSuch(string what, string id, string? param = null)
    {
        var fault = Invalid($"No such {what}: '{id}'", param, "resource_missing");
        return param is null ? new StripeFault(404, fault.Error) : fault;
    }

    public static StripeFault Unauthorized(string message) => new(401, new JsonObject
    {
        ["type"] = "invalid_request_error",
        ["message"] = message,
    });
}

/// <summary>An HTTP status and a JSON body.</summary>
internal sealed record Reply(int Status, JsonNode Body)
{
    public static Reply Ok(JsonNode body) => new(200, body);
}
