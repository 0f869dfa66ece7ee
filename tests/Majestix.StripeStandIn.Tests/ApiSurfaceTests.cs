using System.Net;
using Stripe;

namespace Majestix.StripeStandIn.Tests;

public sealed class ApiSurfaceTests(StandInApp app) : IClassFixture<StandInApp>
{
    [Fact]
    public async Task CustomersAreFoundBySearch()
    {
        var account = app.NewAccount();
        var mine = await account.Customers.CreateAsync(new CustomerCreateOptions { Email = "s@example.com", Metadata = new() { ["uid"] = "u-42" } });
        await account.Customers.CreateAsync(new CustomerCreateOptions { Email = "other@example.com", Metadata = new() { ["uid"] = "u-43" } });
        var found = await account.Customers.SearchAsync(new CustomerSearchOptions { Query = "metadata['uid']:'u-42'" });
        found.Data.Single().Id.ShouldBe(mine.Id);
        (await account.Customers.SearchAsync(new CustomerSearchOptions { Query = "email:'other@example.com' AND metadata['uid']:'u-42'" })).Data.ShouldBeEmpty();
    }

    [Fact]
    public async Task AnUnknownPathIsAStripe404()
    {
        var account = app.NewAccount();
        var e = await Should.ThrowAsync<StripeException>(() => new TaxRateService(account.Stripe).ListAsync());
        e.HttpStatusCode.ShouldBe(HttpStatusCode.NotFound);
        e.StripeError.Message.ShouldContain("Unrecognized request URL");
    }

    [Fact]
    public async Task NestedExpansionsReplaceIdsAtEveryLevel()
    {
        var account = app.NewAccount();
        var subscription = await account.SubscribeAsync(await account.PriceAsync(1000, name: "Guru"));
        var expanded = await account.Subscriptions.GetAsync(subscription.Id, new SubscriptionGetOptions
        {
            Expand = ["items.data.price.product", "latest_invoice", "customer", "default_payment_method"],
        });
        expanded.Items.Data[0].Price.Product.Name.ShouldBe("Guru");
        expanded.LatestInvoice.Status.ShouldBe("paid");
        expanded.Customer.Email.ShouldBe("someone@example.com");
        expanded.DefaultPaymentMethod.Card.Last4.ShouldBe("4242");

        var piId = expanded.LatestInvoice.Payments.Data[0].Payment.PaymentIntentId;
        var pi = await account.PaymentIntents.GetAsync(piId, new PaymentIntentGetOptions { Expand = ["latest_charge.payment_method"] });
        pi.LatestCharge.Amount.ShouldBe(1000);
        (await account.Charges.ListAsync(new ChargeListOptions { PaymentIntent = piId })).Data.Single().Id.ShouldBe(pi.LatestChargeId);
        (await account.Subscriptions.ListAsync(new SubscriptionListOptions { Customer = subscription.CustomerId })).Data.Single().Id.ShouldBe(subscription.Id);
        (await account.Invoices.ListAsync(new InvoiceListOptions { Subscription = subscription.Id })).Data.Single().Id.ShouldBe(expanded.LatestInvoiceId);
    }

    [Fact]
    public async Task AnOffSessionPaymentWithATestTokenAndACustomerSucceeds()
    {
        var account = app.NewAccount();
        var customer = await account.Customers.CreateAsync(new CustomerCreateOptions());
        var pi = await account.PaymentIntents.CreateAsync(new PaymentIntentCreateOptions
        {
            Amount = 500,
            Currency = "usd",
            Customer = customer.Id,
            PaymentMethod = "pm_card_visa",
            OffSession = true,
            Confirm = true,
        });
        pi.Status.ShouldBe("succeeded");
        (await account.PaymentIntents.ListAsync(new PaymentIntentListOptions { Customer = customer.Id })).Data.Single().Id.ShouldBe(pi.Id);
    }

    [Fact]
    public async Task AConfirmAfterADeclineWithANewCardSucceeds()
    {
        var account = app.NewAccount();
        var e = await Should.ThrowAsync<StripeException>(() => account.PaymentIntents.CreateAsync(new PaymentIntentCreateOptions
        {
            Amount = 500,
            Currency = "usd",
            PaymentMethod = "pm_card_chargeDeclined",
            Confirm = true,
        }));
        var pi = await account.PaymentIntents.ConfirmAsync(e.StripeError.PaymentIntent.Id, new PaymentIntentConfirmOptions { PaymentMethod = "pm_card_visa" });
        pi.Status.ShouldBe("succeeded");
        pi.LastPaymentError.ShouldBeNull();
    }
}
