using System.Net;
using System.Text.Json.Nodes;
using Stripe;

namespace Majestix.StripeStandIn.Tests;

public sealed class SubscriptionTests(StandInApp app) : IClassFixture<StandInApp>
{
    private static string Str(JsonNode node, string path) =>
        path.Split('.').Aggregate(node, (n, p) => n[p]!).GetValue<string>();

    [Fact]
    public async Task AdvancingRenewsForTheNextMonthAndPaysTheInvoice()
    {
        var account = app.NewAccount();
        var price = await account.PriceAsync(1000);
        var subscription = await account.SubscribeAsync(price);
        var inbox = await account.ListenAsync();
        var firstEnd = subscription.Items.Data[0].CurrentPeriodEnd;

        var result = await account.ControlAsync(HttpMethod.Post, $"/_stand-in/subscriptions/{subscription.Id}/advance");
        Str(result, "invoice.status").ShouldBe("paid");
        Str(result, "subscription.status").ShouldBe("active");

        var invoice = await account.Invoices.GetAsync(Str(result, "invoice.id"));
        invoice.BillingReason.ShouldBe("subscription_cycle");
        invoice.Status.ShouldBe("paid");
        invoice.AmountPaid.ShouldBe(1000);
        invoice.Lines.Data[0].Period.Start.ShouldBe(firstEnd);
        invoice.Lines.Data[0].Period.End.ShouldBe(firstEnd.AddMonths(1));
        invoice.Parent.SubscriptionDetails.Metadata["uid"].ShouldBe("u1");
        invoice.Payments.Data.Single().Payment.PaymentIntentId.ShouldStartWith("pi_");

        subscription = await account.Subscriptions.GetAsync(subscription.Id);
        subscription.Items.Data[0].CurrentPeriodStart.ShouldBe(firstEnd);
        subscription.LatestInvoiceId.ShouldBe(invoice.Id);

        var events = await inbox.WaitForTypesAsync("invoice.paid", "customer.subscription.updated");
        events.Select(e => e.Type).ShouldBe(["payment_intent.succeeded", "charge.succeeded", "invoice.paid", "customer.subscription.updated"]);
        ((Invoice)events[2].Data.Object).BillingReason.ShouldBe("subscription_cycle");
    }

    [Fact]
    public async Task ADeclinedRenewalGoesPastDueThenUnpaidAndPayingLatestRecovers()
    {
        var account = app.NewAccount();
        var price = await account.PriceAsync(1000);
        var subscription = await account.SubscribeAsync(price);
        var inbox = await account.ListenAsync("invoice.paid", "invoice.payment_failed", "customer.subscription.updated");
        await account.ControlAsync(HttpMethod.Post, $"/_stand-in/customers/{subscription.CustomerId}/card", new { card = "4000000000000002" });
        var declining = (await account.Subscriptions.GetAsync(subscription.Id)).DefaultPaymentMethodId;
        (await account.PaymentMethods.GetAsync(declining)).Card.Last4.ShouldBe("0002");

        var result = await account.ControlAsync(HttpMethod.Post, $"/_stand-in/subscriptions/{subscription.Id}/advance");
        Str(result, "invoice.status").ShouldBe("open");
        Str(result, "subscription.status").ShouldBe("past_due");
        var events = await inbox.WaitForAsync(e => e.Any(x => x.Type == "customer.subscription.updated" && ((Subscription)x.Data.Object).Status == "past_due"));
        events.Where(e => e.Type != "customer.subscription.updated" || ((Subscription)e.Data.Object).Status == "past_due")
            .Select(e => e.Type).ShouldBe(["invoice.payment_failed", "customer.subscription.updated"]);
        var pastDue = inbox.All.Select(d => JsonNode.Parse(d.Body)!).Last(b => Str(b, "type") == "customer.subscription.updated");
        Str(pastDue, "data.previous_attributes.status").ShouldBe("active");
        pastDue["data"]!["previous_attributes"]!["items"].ShouldNotBeNull();

        result = await account.ControlAsync(HttpMethod.Post, $"/_stand-in/subscriptions/{subscription.Id}/advance", new { exhaust_retries = true });
        Str(result, "subscription.status").ShouldBe("unpaid");
        (await account.Subscriptions.GetAsync(subscription.Id)).Status.ShouldBe("unpaid");
        await inbox.WaitForAsync(e => e.Any(x => x.Type == "customer.subscription.updated" && ((Subscription)x.Data.Object).Status == "unpaid"));

        await account.ControlAsync(HttpMethod.Post, $"/_stand-in/customers/{subscription.CustomerId}/card", new { card = "4242424242424242" });
        result = await account.ControlAsync(HttpMethod.Post, $"/_stand-in/subscriptions/{subscription.Id}/pay-latest");
        Str(result, "invoice.status").ShouldBe("paid");
        Str(result, "subscription.status").ShouldBe("active");
        await inbox.WaitForAsync(e => e.Any(x => x.Type == "invoice.paid")
            && e.Any(x => x.Type == "customer.subscription.updated" && ((Subscription)x.Data.Object).Status == "active"));
    }

    [Fact]
    public async Task TheThirdFailedRenewalInARowMakesItUnpaid()
    {
        var account = app.NewAccount();
        var subscription = await account.SubscribeAsync(await account.PriceAsync(1000));
        await account.ControlAsync(HttpMethod.Post, $"/_stand-in/customers/{subscription.CustomerId}/card", new { card = "4000000000000002" });
        string[] statuses = ["past_due", "past_due", "unpaid"];
        foreach (var expected in statuses)
        {
            var result = await account.ControlAsync(HttpMethod.Post, $"/_stand-in/subscriptions/{subscription.Id}/advance");
            Str(result, "subscription.status").ShouldBe(expected);
        }
    }

    [Fact]
    public async Task SubscriptionsAreUpdatedAndCanceledThroughTheApi()
    {
        var account = app.NewAccount();
        var guru = await account.PriceAsync(1000, name: "Guru");
        var pro = await account.PriceAsync(5000, name: "Pro");
        var subscription = await account.SubscribeAsync(guru);
        var inbox = await account.ListenAsync("customer.subscription.updated", "customer.subscription.deleted");

        var updated = await account.Subscriptions.UpdateAsync(subscription.Id, new SubscriptionUpdateOptions
        {
            Metadata = new() { ["note"] = "x" },
            CancelAtPeriodEnd = true,
            Items = [new SubscriptionItemOptions { Id = subscription.Items.Data[0].Id, Price = pro.Id }],
        });
        updated.CancelAtPeriodEnd.ShouldBeTrue();
        updated.Metadata["note"].ShouldBe("x");
        updated.Metadata["uid"].ShouldBe("u1");
        updated.Items.Data[0].Price.Id.ShouldBe(pro.Id);

        var canceled = await account.Subscriptions.CancelAsync(subscription.Id);
        canceled.Status.ShouldBe("canceled");
        canceled.EndedAt.ShouldNotBeNull();
        canceled.CanceledAt.ShouldNotBeNull();
        var events = await inbox.WaitForTypesAsync("customer.subscription.deleted");
        events.Select(e => e.Type).ShouldBe(["customer.subscription.updated", "customer.subscription.deleted"]);

        var e = await Should.ThrowAsync<StripeException>(() => account.Subscriptions.GetAsync("sub_nope"));
        e.HttpStatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task ThePortalSwitchesPlanUpdatesTheCardAndCancels()
    {
        var account = app.NewAccount();
        var guru = await account.PriceAsync(1000, name: "Guru");
        var pro = await account.PriceAsync(5000, name: "Pro");
        var subscription = await account.SubscribeAsync(guru);
        var inbox = await account.ListenAsync("customer.subscription.updated", "customer.subscription.deleted", "invoice.paid", "invoice.payment_failed");

        var portal = await account.PortalSessions.CreateAsync(new Stripe.BillingPortal.SessionCreateOptions
        {
            Customer = subscription.CustomerId,
            ReturnUrl = "https://app.test/billing",
        });
        portal.Id.ShouldMatch("^bps_[A-Za-z0-9]+$");
        portal.Url.ShouldBe($"{app.BaseAddress.ToString().TrimEnd('/')}/portal/{portal.Id}");
        var html = await app.Http.GetStringAsync(new Uri(portal.Url));
        html.ShouldContain("Guru");
        html.ShouldContain("Switch to Pro");
        html.ShouldContain(pro.Id);

        (await account.PressAsync($"/portal/{portal.Id}/switch", ("price", pro.Id)))["status"]!.GetValue<string>().ShouldBe("switched");
        var switched = await account.Subscriptions.GetAsync(subscription.Id);
        switched.Items.Data[0].Price.Id.ShouldBe(pro.Id);
        switched.Items.Data[0].CurrentPeriodStart.ShouldBeGreaterThanOrEqualTo(subscription.Items.Data[0].CurrentPeriodStart);
        var invoice = await account.Invoices.GetAsync(switched.LatestInvoiceId);
        invoice.BillingReason.ShouldBe("subscription_update");
        invoice.AmountPaid.ShouldBe(5000);
        invoice.Lines.Data[0].Pricing.PriceDetails.PriceId.ShouldBe(pro.Id);
        var events = await inbox.WaitForTypesAsync("invoice.paid");
        events.Select(e => e.Type).ShouldBe(["customer.subscription.updated", "invoice.paid"]);

        (await account.PressAsync($"/portal/{portal.Id}/card", ("card", "4000000000000002")))["status"]!.GetValue<string>().ShouldBe("updated");
        (await account.PressAsync($"/portal/{portal.Id}/switch", ("price", guru.Id)))["status"]!.GetValue<string>().ShouldBe("past_due");
        (await account.Subscriptions.GetAsync(subscription.Id)).Status.ShouldBe("past_due");
        await inbox.WaitForTypesAsync("invoice.payment_failed");

        (await account.PressAsync($"/portal/{portal.Id}/cancel"))["redirect"]!.GetValue<string>().ShouldStartWith(portal.Url);
        (await account.Subscriptions.GetAsync(subscription.Id)).Status.ShouldBe("canceled");
        await inbox.WaitForTypesAsync("customer.subscription.deleted");
    }

    [Fact]
    public async Task APortalSessionForAnUnknownCustomerIsAStripeError()
    {
        var account = app.NewAccount();
        var e = await Should.ThrowAsync<StripeException>(() => account.PortalSessions.CreateAsync(new Stripe.BillingPortal.SessionCreateOptions { Customer = "cus_nope", ReturnUrl = "https://app.test" }));
        e.StripeError.Code.ShouldBe("resource_missing");
    }
}
