using System.Net;
using Stripe;
using Stripe.Checkout;

namespace Majestix.StripeStandIn.Tests;

public sealed class CheckoutTests(StandInApp app) : IClassFixture<StandInApp>
{
    private static SessionCreateOptions TopUp(string priceId, string? customer = null) => new()
    {
        Mode = "payment",
        LineItems = [new() { Price = priceId, Quantity = 1 }],
        SuccessUrl = "https://app.test/billing?session={CHECKOUT_SESSION_ID}",
        CancelUrl = "https://app.test/billing?canceled=1",
        ClientReferenceId = "uid-7",
        Customer = customer,
        CustomerEmail = customer is null ? "buyer@example.com" : null,
        CustomerCreation = customer is null ? "always" : null,
        Metadata = new() { ["kind"] = "topup" },
        PaymentIntentData = new SessionPaymentIntentDataOptions
        {
            SetupFutureUsage = "off_session",
            Metadata = new() { ["kind"] = "checkout_topup", ["uid"] = "uid-7" },
        },
    };

    [Fact]
    public async Task ASessionIsOpenWithItsHostedUrlUntilPaid()
    {
        var account = app.NewAccount();
        var price = await account.PriceAsync(2500, interval: null, name: "Top-up $25");
        var session = await account.CheckoutSessions.CreateAsync(TopUp(price.Id));
        session.Id.ShouldMatch("^cs_test_[A-Za-z0-9]+$");
        session.Object.ShouldBe("checkout.session");
        session.Status.ShouldBe("open");
        session.PaymentStatus.ShouldBe("unpaid");
        session.AmountTotal.ShouldBe(2500);
        session.Currency.ShouldBe("usd");
        session.Mode.ShouldBe("payment");
        session.ClientReferenceId.ShouldBe("uid-7");
        session.Metadata["kind"].ShouldBe("topup");
        session.Url.ShouldBe($"{app.BaseAddress.ToString().TrimEnd('/')}/checkout/{session.Id}");
        session.ExpiresAt.ShouldBe(session.Created.AddHours(24), TimeSpan.FromSeconds(2));

        using var page = await app.Http.GetAsync(new Uri(session.Url));
        page.StatusCode.ShouldBe(HttpStatusCode.OK);
        var html = await page.Content.ReadAsStringAsync();
        html.ShouldContain("$25.00");
        html.ShouldContain("4242 4242 4242 4242");
        html.ShouldContain("4000 0000 0000 0002");
        html.ShouldContain("4000 0027 6000 3184");
    }

    [Fact]
    public async Task AnUnknownPriceIs400ResourceMissingWithItsParam()
    {
        var account = app.NewAccount();
        var e = await Should.ThrowAsync<StripeException>(() => account.CheckoutSessions.CreateAsync(TopUp("price_missing")));
        e.HttpStatusCode.ShouldBe(HttpStatusCode.BadRequest);
        e.StripeError.Code.ShouldBe("resource_missing");
        e.StripeError.Param.ShouldBe("line_items[0][price]");
    }

    [Fact]
    public async Task PayingATopUpCompletesTheSessionAndRaisesItsEventsInOrder()
    {
        var account = app.NewAccount();
        var inbox = await account.ListenAsync();
        var price = await account.PriceAsync(500, interval: null);
        var session = await account.CheckoutSessions.CreateAsync(TopUp(price.Id));

        var outcome = await account.PayCheckoutAsync(session.Id);
        outcome["status"]!.GetValue<string>().ShouldBe("complete");
        outcome["redirect"]!.GetValue<string>().ShouldBe($"https://app.test/billing?session={session.Id}");

        session = await account.CheckoutSessions.GetAsync(session.Id, new SessionGetOptions { Expand = ["payment_intent", "line_items"] });
        session.Status.ShouldBe("complete");
        session.PaymentStatus.ShouldBe("paid");
        session.CustomerId.ShouldStartWith("cus_");
        session.CustomerDetails.Email.ShouldBe("buyer@example.com");
        session.LineItems.Data.Single().Price.Id.ShouldBe(price.Id);
        var pi = session.PaymentIntent;
        pi.Status.ShouldBe("succeeded");
        pi.Amount.ShouldBe(500);
        pi.Metadata["kind"].ShouldBe("checkout_topup");
        pi.SetupFutureUsage.ShouldBe("off_session");
        pi.LatestChargeId.ShouldStartWith("ch_");

        var customer = await account.Customers.GetAsync(session.CustomerId);
        customer.Email.ShouldBe("buyer@example.com");
        customer.InvoiceSettings.DefaultPaymentMethodId.ShouldBe(pi.PaymentMethodId);
        (await account.PaymentMethods.GetAsync(pi.PaymentMethodId)).CustomerId.ShouldBe(customer.Id);

        var events = await inbox.WaitForTypesAsync("checkout.session.completed");
        events.Select(e => e.Type).ShouldBe(["payment_intent.succeeded", "charge.succeeded", "checkout.session.completed"]);
        var completed = (Session)events[2].Data.Object;
        completed.Id.ShouldBe(session.Id);
        completed.PaymentStatus.ShouldBe("paid");
        completed.PaymentIntentId.ShouldBe(pi.Id);
        completed.ClientReferenceId.ShouldBe("uid-7");
        ((PaymentIntent)events[0].Data.Object).Metadata["uid"].ShouldBe("uid-7");
    }

    [Fact]
    public async Task TheBrowserFormRedirectsToTheSuccessUrl()
    {
        var account = app.NewAccount();
        var price = await account.PriceAsync(500, interval: null);
        var session = await account.CheckoutSessions.CreateAsync(TopUp(price.Id));
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(session.Url + "/pay"))
        {
            Content = new FormUrlEncodedContent([KeyValuePair.Create("card", "4242424242424242")]),
        };
        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        using var response = await browser.SendAsync(request);
        response.StatusCode.ShouldBe(HttpStatusCode.SeeOther);
        response.Headers.Location!.ToString().ShouldBe($"https://app.test/billing?session={session.Id}");
    }

    [Theory]
    [InlineData("4000000000000002", "declined")]
    [InlineData("4000002760003184", "requires_action")]
    public async Task ARefusedCardLeavesTheSessionOpenAndGrantsNothing(string card, string status)
    {
        var account = app.NewAccount();
        var inbox = await account.ListenAsync();
        var price = await account.PriceAsync(500, interval: null);
        var session = await account.CheckoutSessions.CreateAsync(TopUp(price.Id));

        (await account.PayCheckoutAsync(session.Id, card))["status"]!.GetValue<string>().ShouldBe(status);
        (await account.CheckoutSessions.GetAsync(session.Id)).Status.ShouldBe("open");

        (await account.PayCheckoutAsync(session.Id))["status"]!.GetValue<string>().ShouldBe("complete");
        var events = await inbox.WaitForTypesAsync("checkout.session.completed");
        events.Count(e => e.Type == "checkout.session.completed").ShouldBe(1);
    }

    [Fact]
    public async Task AnAsyncPaymentCompletesUnpaidThenSettles()
    {
        var account = app.NewAccount();
        var inbox = await account.ListenAsync();
        var price = await account.PriceAsync(2500, interval: null);
        var session = await account.CheckoutSessions.CreateAsync(TopUp(price.Id));

        (await account.PayCheckoutAsync(session.Id, settlesLater: true))["status"]!.GetValue<string>().ShouldBe("processing");
        var pending = await account.CheckoutSessions.GetAsync(session.Id);
        pending.Status.ShouldBe("complete");
        pending.PaymentStatus.ShouldBe("unpaid");
        await inbox.WaitForTypesAsync("checkout.session.completed");

        (await account.PressAsync($"/checkout/{session.Id}/async", ("outcome", "succeeded")))["status"]!.GetValue<string>().ShouldBe("complete");
        var events = await inbox.WaitForTypesAsync("checkout.session.async_payment_succeeded");
        events.Select(e => e.Type).ShouldBe(["checkout.session.completed", "payment_intent.succeeded", "charge.succeeded", "checkout.session.async_payment_succeeded"]);
        ((Session)events[0].Data.Object).PaymentStatus.ShouldBe("unpaid");
        ((Session)events[3].Data.Object).PaymentStatus.ShouldBe("paid");
        (await account.PaymentIntents.GetAsync(pending.PaymentIntentId)).Status.ShouldBe("succeeded");
    }

    [Fact]
    public async Task AFailedAsyncPaymentRaisesAsyncPaymentFailed()
    {
        var account = app.NewAccount();
        var inbox = await account.ListenAsync("checkout.session.completed", "checkout.session.async_payment_failed", "checkout.session.async_payment_succeeded");
        var price = await account.PriceAsync(2500, interval: null);
        var session = await account.CheckoutSessions.CreateAsync(TopUp(price.Id));
        await account.PayCheckoutAsync(session.Id, settlesLater: true);
        await account.PressAsync($"/checkout/{session.Id}/async", ("outcome", "failed"));
        var events = await inbox.WaitForTypesAsync("checkout.session.async_payment_failed");
        events.Select(e => e.Type).ShouldBe(["checkout.session.completed", "checkout.session.async_payment_failed"]);
        (await account.CheckoutSessions.GetAsync(session.Id)).PaymentStatus.ShouldBe("unpaid");
    }

    [Fact]
    public async Task ASubscriptionCheckoutCreatesTheSubscriptionItsPaidInvoiceAndEventsInOrder()
    {
        var account = app.NewAccount();
        var inbox = await account.ListenAsync();
        var price = await account.PriceAsync(1000, name: "Guru");
        var session = await account.CheckoutSessions.CreateAsync(new SessionCreateOptions
        {
            Mode = "subscription",
            LineItems = [new() { Price = price.Id, Quantity = 1 }],
            SuccessUrl = "https://app.test/ok",
            CancelUrl = "https://app.test/cancel",
            ClientReferenceId = "uid-9",
            CustomerEmail = "sub@example.com",
            SubscriptionData = new SessionSubscriptionDataOptions { Metadata = new() { ["uid"] = "uid-9", ["plan"] = "guru" } },
        });
        (await account.PayCheckoutAsync(session.Id))["status"]!.GetValue<string>().ShouldBe("complete");

        session = await account.CheckoutSessions.GetAsync(session.Id);
        session.Status.ShouldBe("complete");
        session.PaymentStatus.ShouldBe("paid");
        session.SubscriptionId.ShouldStartWith("sub_");
        session.InvoiceId.ShouldStartWith("in_");

        var subscription = await account.Subscriptions.GetAsync(session.SubscriptionId);
        subscription.Status.ShouldBe("active");
        subscription.CustomerId.ShouldBe(session.CustomerId);
        subscription.Metadata["uid"].ShouldBe("uid-9");
        subscription.DefaultPaymentMethodId.ShouldStartWith("pm_");
        subscription.LatestInvoiceId.ShouldBe(session.InvoiceId);
        var item = subscription.Items.Data.Single();
        item.Id.ShouldStartWith("si_");
        item.Price.Id.ShouldBe(price.Id);
        item.Price.UnitAmount.ShouldBe(1000);
        item.CurrentPeriodEnd.ShouldBe(item.CurrentPeriodStart.AddMonths(1));
        (await account.Customers.GetAsync(session.CustomerId)).InvoiceSettings.DefaultPaymentMethodId.ShouldBe(subscription.DefaultPaymentMethodId);

        var invoice = await account.Invoices.GetAsync(session.InvoiceId);
        invoice.Status.ShouldBe("paid");
        invoice.BillingReason.ShouldBe("subscription_create");
        invoice.AmountPaid.ShouldBe(1000);
        invoice.AmountDue.ShouldBe(1000);
        invoice.CustomerId.ShouldBe(session.CustomerId);
        invoice.Parent.Type.ShouldBe("subscription_details");
        invoice.Parent.SubscriptionDetails.SubscriptionId.ShouldBe(subscription.Id);
        invoice.Parent.SubscriptionDetails.Metadata["plan"].ShouldBe("guru");
        var line = invoice.Lines.Data.Single();
        line.Period.Start.ShouldBe(item.CurrentPeriodStart);
        line.Period.End.ShouldBe(item.CurrentPeriodEnd);
        line.Pricing.PriceDetails.PriceId.ShouldBe(price.Id);
        line.Parent.SubscriptionItemDetails.SubscriptionItem.ShouldBe(item.Id);
        var payment = invoice.Payments.Data.Single();
        payment.Id.ShouldStartWith("inpay_");
        payment.Status.ShouldBe("paid");
        payment.AmountPaid.ShouldBe(1000);
        var pi = await account.PaymentIntents.GetAsync(payment.Payment.PaymentIntentId);
        pi.Status.ShouldBe("succeeded");
        pi.Metadata.ShouldNotContainKey("kind");

        var events = await inbox.WaitForTypesAsync("checkout.session.completed");
        events.Select(e => e.Type).ShouldBe(["customer.subscription.created", "payment_intent.succeeded", "charge.succeeded", "invoice.paid", "checkout.session.completed"]);
        var paid = (Invoice)events[3].Data.Object;
        paid.Id.ShouldBe(invoice.Id);
        paid.Payments.Data.Single().Payment.PaymentIntentId.ShouldBe(pi.Id);
        ((Subscription)events[0].Data.Object).Items.Data[0].Price.Id.ShouldBe(price.Id);
    }
}
