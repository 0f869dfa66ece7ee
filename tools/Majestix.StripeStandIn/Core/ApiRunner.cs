using System.Text.Json.Nodes;
using Majestix.StripeStandIn.Webhooks;

namespace Majestix.StripeStandIn.Core;

/// <summary>
/// Runs one API call the way Stripe does: authenticates the key, parses the form, honours the
/// Idempotency-Key, runs the handler under the account's gate, answers JSON, then hands the events the
/// call raised to delivery (never inside the request).
/// </summary>
internal sealed class ApiRunner(AccountStore accounts, WebhookDispatcher dispatcher)
{
    public AccountStore Accounts { get; } = accounts;

    public async Task RunAsync(HttpContext context, Func<Account, Form, Reply> handler)
    {
        Account account;
        Form form;
        try
        {
            account = Accounts.Authenticate(context);
            form = await Form.ReadAsync(context.Request);
        }
        catch (StripeFault fault)
        {
            await WriteAsync(context, fault.ToReply(), replayed: false);
            return;
        }
        catch (System.Text.Json.JsonException)
        {
            await WriteAsync(context, StripeFault.Invalid("Invalid JSON body.").ToReply(), replayed: false);
            return;
        }

        var key = context.Request.Headers["Idempotency-Key"].ToString();
        if (HttpMethods.IsPost(context.Request.Method) && key.Length > 0)
        {
            var fingerprint = $"{context.Request.Path}?{form.Raw}";
            IdempotentRequest request;
            bool first;
            lock (account.Gate)
            {
                first = !account.Idempotency.TryGetValue(key, out request!);
                if (first)
                {
                    request = new IdempotentRequest(fingerprint);
                    account.Idempotency[key] = request;
                }
            }
            if (!first)
            {
                if (request.Fingerprint != fingerprint)
                {
                    await WriteAsync(context, new Reply(400, new JsonObject
                    {
                        ["error"] = new JsonObject
                        {
                            ["type"] = "idempotency_error",
                            ["message"] = $"Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request.",
                        },
                    }), replayed: false);
                    return;
                }
                await WriteAsync(context, await request.Reply.Task.WaitAsync(context.RequestAborted), replayed: true);
                return;
            }
            var reply = Execute(account, form, handler);
            request.Reply.SetResult(reply);
            await WriteAsync(context, reply, replayed: false);
            return;
        }
        await WriteAsync(context, Execute(account, form, handler), replayed: false);
    }

    private Reply Execute(Account account, Form form, Func<Account, Form, Reply> handler)
    {
        Reply reply;
        lock (account.Gate)
        {
            try
            {
                reply = handler(account, form);
            }
            catch (StripeFault fault)
            {
                reply = fault.ToReply();
            }
            catch (Exception e)
            {
                reply = new Reply(500, new JsonObject { ["error"] = new JsonObject { ["type"] = "api_error", ["message"] = e.Message } });
            }
            // Queued under the gate, so events of concurrent requests keep the order they happened in.
            dispatcher.Enqueue(account, account.TakeRaised());
        }
        return reply;
    }

    /// <summary>Runs a change outside the API (hosted pages) under the gate and delivers its events.</summary>
    public T Change<T>(Account account, Func<T> change)
    {
        lock (account.Gate)
        {
            try
            {
                return change();
            }
            finally
            {
                dispatcher.Enqueue(account, account.TakeRaised());
            }
        }
    }

    public static async Task WriteAsync(HttpContext context, Reply reply, bool replayed)
    {
        context.Response.StatusCode = reply.Status;
        context.Response.ContentType = "application/json";
        context.Response.Headers["Request-Id"] = Ids.New("req_", 14);
        context.Response.Headers["Stripe-Version"] = Stripe.StripeConfiguration.ApiVersion;
        var key = context.Request.Headers["Idempotency-Key"].ToString();
        if (key.Length > 0)
        {
            context.Response.Headers["Idempotency-Key"] = key;
        }
        if (replayed)
        {
            context.Response.Headers["Idempotent-Replayed"] = "true";
        }
        await context.Response.WriteAsync(reply.Body.ToJsonString(), context.RequestAborted);
    }
}
