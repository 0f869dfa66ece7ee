using System.Collections.Concurrent;
using System.Text;
using Majestix.StripeStandIn.Webhooks;
using Microsoft.Extensions.Options;

namespace Majestix.StripeStandIn.Core;

/// <summary>One account per secret key, made on first use; hosted pages find theirs by session id.</summary>
internal sealed class AccountStore(IOptions<StandInOptions> options, PublicUrl publicUrl, WebhookDispatcher dispatcher)
{
    private readonly ConcurrentDictionary<string, Account> _accounts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Account> _bySession = new(StringComparer.Ordinal);

    public StandInOptions Options { get; } = options.Value;

    private readonly Lock _creating = new();

    /// <summary>The key's account, made (with its delivery pump) exactly once.</summary>
    public Account For(string key)
    {
        if (_accounts.TryGetValue(key, out var existing))
        {
            return existing;
        }
        lock (_creating)
        {
            if (_accounts.TryGetValue(key, out existing))
            {
                return existing;
            }
            var account = new Account(key, publicUrl);
            _accounts[key] = account;
            dispatcher.Start(account);
            return account;
        }
    }

    /// <summary>The account of a hosted page's session (checkout cs_ or portal bps_).</summary>
    public Account? BySession(string sessionId) => _bySession.GetValueOrDefault(sessionId);

    public void IndexSession(string sessionId, Account account) => _bySession[sessionId] = account;

    /// <summary>`Authorization: Bearer sk_...` or Basic with the key as user name, as Stripe accepts.</summary>
    public Account Authenticate(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        string? key = null;
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            key = header[7..].Trim();
        }
        else if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
                key = decoded.Split(':', 2)[0];
            }
            catch (FormatException)
            {
                key = null;
            }
        }
        if (string.IsNullOrEmpty(key))
        {
            throw StripeFault.Unauthorized("You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').");
        }
        if (!(key.StartsWith("sk_test_", StringComparison.Ordinal) || key.StartsWith("rk_test_", StringComparison.Ordinal)) || key.Length < 10 || key.Any(char.IsWhiteSpace))
        {
            throw StripeFault.Unauthorized($"Invalid API Key provided: {Redact(key)}");
        }
        return For(key);
    }

    private static string Redact(string key) => key.Length <= 12 ? key : key[..8] + new string('*', key.Length - 12) + key[^4..];
}

/// <summary>The base of hosted page URLs: StandIn:PublicUrl, else the first address the server listens on.</summary>
internal sealed class PublicUrl
{
    public string Value { get; set; } = "http://127.0.0.1:4243";
}
