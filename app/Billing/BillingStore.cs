using Majestix.GoogleCloud.Firestore;

namespace Majestix.InferenceApi.Billing;

/// <summary>Billing's Firestore documents: accounts, customer links, payments that granted, pending checkouts.</summary>
internal sealed class BillingStore(FirestoreClient firestore, TimeProvider time)
{
    public static string AccountPath(string userId) => $"billing_accounts/{userId}";

    public static string CustomerPath(string customerId) => $"stripe_customers/{customerId}";

    public static string PaymentPath(string paymentIntentId) => $"stripe_payments/{paymentIntentId}";

    public static string CheckoutPath(string sessionId) => $"stripe_checkouts/{sessionId}";

    public Task<BillingAccount?> GetAccountAsync(string userId, CancellationToken cancellationToken) =>
        firestore.GetAsync(AccountPath(userId), BillingJson.Default.BillingAccount, cancellationToken);

    /// <summary>Reads, changes and writes the account in one transaction (retried on contention, so <paramref name="change"/> must be pure).</summary>
    public Task<T> UpdateAccountAsync<T>(string userId, Func<BillingAccount, (BillingAccount Account, T Result)> change, CancellationToken cancellationToken) =>
        firestore.RunTransactionAsync(async transaction =>
        {
            var document = await transaction.GetAsync(AccountPath(userId), cancellationToken);
            var account = document?.ConvertTo(BillingJson.Default.BillingAccount) ?? new BillingAccount(userId);
            var (changed, result) = change(account);
            if (!ReferenceEquals(changed, account))
            {
                transaction.Set(AccountPath(userId), changed with { UpdatedAt = time.GetUtcNow() }, BillingJson.Default.BillingAccount);
            }
            return result;
        }, cancellationToken: cancellationToken);

    public Task UpdateAccountAsync(string userId, Func<BillingAccount, BillingAccount> change, CancellationToken cancellationToken) =>
        UpdateAccountAsync(userId, account => (change(account), true), cancellationToken);

    /// <summary>Links a customer to the user both ways; the account keeps the first customer it was given.</summary>
    public async Task<string> LinkCustomerAsync(string userId, string customerId, CancellationToken cancellationToken)
    {
        await firestore.SetAsync(CustomerPath(customerId), new StripeCustomerLink(userId, time.GetUtcNow()), BillingJson.Default.StripeCustomerLink,
            cancellationToken: cancellationToken);
        return await UpdateAccountAsync(userId, account => account.CustomerId is { } linked
            ? (account, linked)
            : (account with { CustomerId = customerId }, customerId), cancellationToken);
    }

    public async Task<string?> UserOfCustomerAsync(string customerId, CancellationToken cancellationToken) =>
        (await firestore.GetAsync(CustomerPath(customerId), BillingJson.Default.StripeCustomerLink, cancellationToken))?.UserId;

    public Task RecordPaymentAsync(string paymentIntentId, StripePayment payment, CancellationToken cancellationToken) =>
        firestore.SetAsync(PaymentPath(paymentIntentId), payment, BillingJson.Default.StripePayment, cancellationToken: cancellationToken);

    public Task<StripePayment?> GetPaymentAsync(string paymentIntentId, CancellationToken cancellationToken) =>
        firestore.GetAsync(PaymentPath(paymentIntentId), BillingJson.Default.StripePayment, cancellationToken);

    public Task RecordCheckoutAsync(string sessionId, StripeCheckout checkout, CancellationToken cancellationToken) =>
        firestore.SetAsync(CheckoutPath(sessionId), checkout, BillingJson.Default.StripeCheckout, cancellationToken: cancellationToken);
}
