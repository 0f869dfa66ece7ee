using System.Net;
using Stripe;

namespace Majestix.StripeStandIn.Tests;

public sealed class PaymentTests(StandInApp app) : IClassFixture<StandInApp>
{
    private static async Task<(Customer Customer, PaymentMethod Card)> CustomerWithCardAsync(TestAccount account, string token)
    {
        var customer = await account.Customers.CreateAsync(new CustomerCreateOptions { Email = "auto@example.com" });
        var card = await account.PaymentMethods.AttachAsync(token, new PaymentMethodAttachOptions { Customer = customer.Id });
        return (customer, card);
    }

    private static PaymentIntentCreateOptions AutoTopUp(Customer customer, PaymentMethod card) => new()
    {
        Amount = 2500,
        Currency = "usd",
        Customer = customer.Id,
        PaymentMethod = card.Id,
        OffSession = true,
        Confirm = true,
        Metadata = new() { ["kind"] = "auto_topup", ["uid"] = "u-3" },
        Description = "Auto top-up",
    };

    [Fact]
    public async Task AnOffSessionPaymentWithAGoodCardSucceedsWithACharge()
    {
        var account = app.NewAccount();
        var inbox = await account.ListenAsync("payment_intent.succeeded", "charge.succeeded", "payment_intent.payment_failed");
        var (customer, card) = await CustomerWithCardAsync(account, "pm_card_visa");
        var pi = await account.PaymentIntents.CreateAsync(AutoTopUp(customer, card), new RequestOptions { IdempotencyKey = "autotopup:u-3:1" });
        pi.Id.ShouldMatch("^pi_[A-Za-z0-9]+$");
        pi.Status.ShouldBe("succeeded");
        pi.AmountReceived.ShouldBe(2500);
        pi.Metadata["kind"].ShouldBe("auto_topup");
        pi.CustomerId.ShouldBe(customer.Id);

        var expanded = await account.PaymentIntents.GetAsync(pi.Id, new PaymentIntentGetOptions { Expand = ["payment_method", "latest_charge"] });
        expanded.PaymentMethod.Card.Last4.ShouldBe("4242");
        expanded.LatestCharge.Amount.ShouldBe(2500);
        expanded.LatestCharge.PaymentIntentId.ShouldBe(pi.Id);

        var charge = await account.Charges.GetAsync(pi.LatestChargeId);
        charge.Paid.ShouldBeTrue();
        charge.CustomerId.ShouldBe(customer.Id);
        charge.PaymentMethodDetails.Card.Brand.ShouldBe("visa");
        charge.PaymentMethodDetails.Card.Last4.ShouldBe("4242");

        var events = await inbox.WaitForTypesAsync("payment_intent.succeeded", "charge.succeeded");
        events.Select(e => e.Type).ShouldBe(["payment_intent.succeeded", "charge.succeeded"]);
        ((PaymentIntent)events[0].Data.Object).Metadata["uid"].ShouldBe("u-3");

        var replay = await account.PaymentIntents.CreateAsync(AutoTopUp(customer, card), new RequestOptions { IdempotencyKey = "autotopup:u-3:1" });
        replay.Id.ShouldBe(pi.Id);
    }

    [Theory]
    [InlineData("pm_card_chargeDeclined", "card_declined", "generic_decline")]
    [InlineData("pm_card_authenticationRequired", "authentication_required", "authentication_required")]
    public async Task ARefusedOffSessionPaymentIs402WithThePaymentIntent(string token, string code, string declineCode)
    {
        var account = app.NewAccount();
        var inbox = await account.ListenAsync("payment_intent.payment_failed", "payment_intent.succeeded");
        var (customer, card) = await CustomerWithCardAsync(account, token);
        var e = await Should.ThrowAsync<StripeException>(() => account.PaymentIntents.CreateAsync(AutoTopUp(customer, card)));
        e.HttpStatusCode.ShouldBe(HttpStatusCode.PaymentRequired);
        e.StripeError.Type.ShouldBe("card_error");
        e.StripeError.Code.ShouldBe(code);
        e.StripeError.DeclineCode.ShouldBe(declineCode);
        e.StripeError.PaymentIntent.Id.ShouldStartWith("pi_");
        e.StripeError.PaymentIntent.Status.ShouldBe("requires_payment_method");
        e.StripeError.PaymentIntent.LastPaymentError.Code.ShouldBe(code);
        e.StripeError.PaymentIntent.Metadata["kind"].ShouldBe("auto_topup");

        var stored = await account.PaymentIntents.GetAsync(e.StripeError.PaymentIntent.Id);
        stored.Status.ShouldBe("requires_payment_method");
        stored.LatestChargeId.ShouldBeNull();

        var events = await inbox.WaitForTypesAsync("payment_intent.payment_failed");
        var failed = (PaymentIntent)events.Single().Data.Object;
        failed.Id.ShouldBe(stored.Id);
        failed.LastPaymentError.Code.ShouldBe(code);
        failed.LastPaymentError.DeclineCode.ShouldBe(declineCode);
    }

    [Fact]
    public async Task PaymentMethodsAreMadeFromCardNumbers()
    {
        var account = app.NewAccount();
        var pm = await account.PaymentMethods.CreateAsync(new PaymentMethodCreateOptions
        {
            Type = "card",
            Card = new PaymentMethodCardOptions { Number = "4000000000000002", ExpMonth = 3, ExpYear = 2031, Cvc = "123" },
        });
        pm.Card.Last4.ShouldBe("0002");
        pm.Card.ExpMonth.ShouldBe(3);
        pm.Card.ExpYear.ShouldBe(2031);
        pm.Card.Funding.ShouldBe("credit");
        (await account.PaymentMethods.GetAsync(pm.Id)).Card.Brand.ShouldBe("visa");
        var e = await Should.ThrowAsync<StripeException>(() => account.PaymentIntents.CreateAsync(new PaymentIntentCreateOptions
        {
            Amount = 100,
            Currency = "usd",
            PaymentMethod = pm.Id,
            Confirm = true,
        }));
        e.StripeError.Code.ShouldBe("card_declined");
    }

    [Fact]
    public async Task TestTokensMakeANewPaymentMethodEachTime()
    {
        var account = app.NewAccount();
        var customer = await account.Customers.CreateAsync(new CustomerCreateOptions());
        var one = await account.PaymentIntents.CreateAsync(new PaymentIntentCreateOptions { Amount = 100, Currency = "usd", Customer = customer.Id, PaymentMethod = "pm_card_visa", Confirm = true });
        var two = await account.PaymentIntents.CreateAsync(new PaymentIntentCreateOptions { Amount = 100, Currency = "usd", Customer = customer.Id, PaymentMethod = "pm_card_visa", Confirm = true });
        one.PaymentMethodId.ShouldStartWith("pm_");
        one.PaymentMethodId.ShouldNotBe("pm_card_visa");
        two.PaymentMethodId.ShouldNotBe(one.PaymentMethodId);
        (await account.PaymentMethods.GetAsync(one.PaymentMethodId)).Card.Last4.ShouldBe("4242");
    }

    [Fact]
    public async Task RefundsTakeBackPartThenTheRestAndNeverMore()
    {
        var account = app.NewAccount();
        var inbox = await account.ListenAsync("charge.refunded");
        var pi = await account.PaymentIntents.CreateAsync(new PaymentIntentCreateOptions { Amount = 1000, Currency = "usd", PaymentMethod = "pm_card_visa", Confirm = true });

        var partial = await account.Refunds.CreateAsync(new RefundCreateOptions { Charge = pi.LatestChargeId, Amount = 300 });
        partial.Id.ShouldMatch("^re_[A-Za-z0-9]+$");
        partial.Status.ShouldBe("succeeded");
        partial.Amount.ShouldBe(300);
        var charge = await account.Charges.GetAsync(pi.LatestChargeId);
        charge.AmountRefunded.ShouldBe(300);
        charge.Refunded.ShouldBeFalse();

        var rest = await account.Refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id });
        rest.Amount.ShouldBe(700);
        charge = await account.Charges.GetAsync(pi.LatestChargeId);
        charge.AmountRefunded.ShouldBe(1000);
        charge.Refunded.ShouldBeTrue();

        var e = await Should.ThrowAsync<StripeException>(() => account.Refunds.CreateAsync(new RefundCreateOptions { Charge = charge.Id, Amount = 1 }));
        e.HttpStatusCode.ShouldBe(HttpStatusCode.BadRequest);

        var listed = await account.Refunds.ListAsync(new RefundListOptions { Charge = charge.Id });
        listed.Data.Select(r => r.Id).ShouldBe([rest.Id, partial.Id]);
        (await account.Refunds.GetAsync(partial.Id)).ChargeId.ShouldBe(charge.Id);

        var events = await inbox.WaitForAsync(events => events.Count == 2);
        events.Select(ev => ((Charge)ev.Data.Object).AmountRefunded).ShouldBe([300L, 1000L]);
        var previous = inbox.All.Select(d => System.Text.Json.Nodes.JsonNode.Parse(d.Body)!["data"]!["previous_attributes"]!["amount_refunded"]!.GetValue<long>());
        previous.ShouldBe([0L, 300L]);
        var withRefunds = await account.Charges.GetAsync(charge.Id, new ChargeGetOptions { Expand = ["refunds"] });
        withRefunds.Refunds.Data.Select(r => r.Id).ShouldBe([rest.Id, partial.Id]);
    }

    [Fact]
    public async Task OverRefundingIs400()
    {
        var account = app.NewAccount();
        var pi = await account.PaymentIntents.CreateAsync(new PaymentIntentCreateOptions { Amount = 500, Currency = "usd", PaymentMethod = "pm_card_visa", Confirm = true });
        var e = await Should.ThrowAsync<StripeException>(() => account.Refunds.CreateAsync(new RefundCreateOptions { Charge = pi.LatestChargeId, Amount = 501 }));
        e.HttpStatusCode.ShouldBe(HttpStatusCode.BadRequest);
        e.StripeError.Type.ShouldBe("invalid_request_error");
        (await account.Charges.GetAsync(pi.LatestChargeId)).AmountRefunded.ShouldBe(0);
    }
}
