using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Stripe;

namespace Majestix.StripeStandIn.Tests;

public sealed class AccountTests(StandInApp app) : IClassFixture<StandInApp>
{
    [Fact]
    public async Task CustomersAreCreatedReadAndUpdated()
    {
        var account = app.NewAccount();
        var customer = await account.Customers.CreateAsync(new CustomerCreateOptions
        {
            Email = "ada@example.com",
            Name = "Ada",
            Metadata = new() { ["uid"] = "u-1" },
        });
        customer.Id.ShouldMatch("^cus_[A-Za-z0-9]+$");
        customer.Email.ShouldBe("ada@example.com");
        customer.Metadata["uid"].ShouldBe("u-1");
        customer.Livemode.ShouldBeFalse();
        customer.Created.ShouldBeGreaterThan(DateTime.UtcNow.AddMinutes(-1));

        var pm = await account.PaymentMethods.AttachAsync("pm_card_visa", new PaymentMethodAttachOptions { Customer = customer.Id });
        pm.Id.ShouldMatch("^pm_[A-Za-z0-9]+$");
        pm.Card.Last4.ShouldBe("4242");
        pm.Card.Brand.ShouldBe("visa");
        var updated = await account.Customers.UpdateAsync(customer.Id, new CustomerUpdateOptions
        {
            Metadata = new() { ["plan"] = "guru" },
            InvoiceSettings = new CustomerInvoiceSettingsOptions { DefaultPaymentMethod = pm.Id },
        });
        updated.Metadata.ShouldContainKeyAndValue("uid", "u-1");
        updated.Metadata.ShouldContainKeyAndValue("plan", "guru");
        updated.InvoiceSettings.DefaultPaymentMethodId.ShouldBe(pm.Id);

        var methods = await account.Stripe.V1.Customers.PaymentMethods.ListAsync(customer.Id);
        methods.Data.Single().Id.ShouldBe(pm.Id);
    }

    [Fact]
    public async Task AnUnknownCustomerIs404ResourceMissing()
    {
        var account = app.NewAccount();
        var e = await Should.ThrowAsync<StripeException>(() => account.Customers.GetAsync("cus_nope"));
        e.HttpStatusCode.ShouldBe(HttpStatusCode.NotFound);
        e.StripeError.Type.ShouldBe("invalid_request_error");
        e.StripeError.Code.ShouldBe("resource_missing");
        e.StripeError.Message.ShouldBe("No such customer: 'cus_nope'");
    }

    [Fact]
    public async Task AMissingParameterIs400ParameterMissing()
    {
        var account = app.NewAccount();
        var e = await Should.ThrowAsync<StripeException>(() => account.PaymentIntents.CreateAsync(new PaymentIntentCreateOptions { Currency = "usd" }));
        e.HttpStatusCode.ShouldBe(HttpStatusCode.BadRequest);
        e.StripeError.Code.ShouldBe("parameter_missing");
        e.StripeError.Param.ShouldBe("amount");
    }

    [Fact]
    public async Task AReplayedIdempotencyKeyReturnsTheFirstAnswer()
    {
        var account = app.NewAccount();
        var options = new CustomerCreateOptions { Email = "once@example.com" };
        var first = await account.Customers.CreateAsync(options, new RequestOptions { IdempotencyKey = "k-1" });
        var again = await account.Customers.CreateAsync(options, new RequestOptions { IdempotencyKey = "k-1" });
        again.Id.ShouldBe(first.Id);
        again.StripeResponse.Headers.TryGetValues("Idempotent-Replayed", out var replayed).ShouldBeTrue();
        replayed!.Single().ShouldBe("true");
        (await account.Customers.ListAsync()).Data.Count.ShouldBe(1);
    }

    [Fact]
    public async Task ConcurrentFirstCallsWithOneKeyCreateOneCustomer()
    {
        var account = app.NewAccount();
        var calls = Enumerable.Range(0, 8).Select(_ => account.Customers.CreateAsync(
            new CustomerCreateOptions { Email = "race@example.com" }, new RequestOptions { IdempotencyKey = "race" }));
        var customers = await Task.WhenAll(calls);
        customers.Select(c => c.Id).Distinct().Count().ShouldBe(1);
        (await account.Customers.ListAsync()).Data.Count.ShouldBe(1);
    }

    [Fact]
    public async Task AKeyReusedWithOtherParametersIsAnIdempotencyError()
    {
        var account = app.NewAccount();
        await account.Customers.CreateAsync(new CustomerCreateOptions { Email = "a@example.com" }, new RequestOptions { IdempotencyKey = "same" });
        var e = await Should.ThrowAsync<StripeException>(() =>
            account.Customers.CreateAsync(new CustomerCreateOptions { Email = "b@example.com" }, new RequestOptions { IdempotencyKey = "same" }));
        e.HttpStatusCode.ShouldBe(HttpStatusCode.BadRequest);
        e.StripeError.Type.ShouldBe("idempotency_error");
    }

    [Fact]
    public async Task TheSameKeyInAnotherAccountIsAnotherRequest()
    {
        var one = app.NewAccount();
        var two = app.NewAccount();
        var a = await one.Customers.CreateAsync(new CustomerCreateOptions { Email = "x@example.com" }, new RequestOptions { IdempotencyKey = "shared" });
        var b = await two.Customers.CreateAsync(new CustomerCreateOptions { Email = "y@example.com" }, new RequestOptions { IdempotencyKey = "shared" });
        b.Id.ShouldNotBe(a.Id);
    }

    [Fact]
    public async Task AccountsSeeNothingOfEachOther()
    {
        var one = app.NewAccount();
        var two = app.NewAccount();
        var customer = await one.Customers.CreateAsync(new CustomerCreateOptions { Email = "mine@example.com" });
        var price = await one.PriceAsync(700, lookupKey: null);
        await one.ListenAsync();
        await Should.ThrowAsync<StripeException>(() => two.Customers.GetAsync(customer.Id));
        await Should.ThrowAsync<StripeException>(() => two.Prices.GetAsync(price.Id));
        (await two.Customers.ListAsync()).Data.ShouldBeEmpty();
        (await two.Prices.ListAsync()).Data.ShouldBeEmpty();
        (await two.WebhookEndpoints.ListAsync()).Data.ShouldBeEmpty();
        (await two.Events.ListAsync()).Data.ShouldBeEmpty();
    }

    [Fact]
    public async Task AMissingOrMalformedKeyIs401WithStripesErrorShape()
    {
        var account = app.NewAccount();
        using var none = await account.SendAsync(HttpMethod.Get, "/v1/customers", authorize: false);
        none.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        JsonNode.Parse(await none.Content.ReadAsStringAsync())!["error"]!["type"]!.GetValue<string>().ShouldBe("invalid_request_error");

        var bad = new StripeClient(new StripeClientOptions { ApiKey = "pk_live_nope", ApiBase = app.BaseAddress.ToString().TrimEnd('/') });
        var e = await Should.ThrowAsync<StripeException>(() => new CustomerService(bad).ListAsync());
        e.HttpStatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        e.StripeError.Message.ShouldStartWith("Invalid API Key provided: ");
    }

    [Fact]
    public async Task BasicAuthWithTheKeyAsUserNameIsTheSameAccount()
    {
        var account = app.NewAccount();
        var customer = await account.Customers.CreateAsync(new CustomerCreateOptions { Email = "basic@example.com" });
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/customers/{customer.Id}");
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(account.Key + ":")));
        using var response = await app.Http.SendAsync(request);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task TheDevAccountHasTheFixedPricesAndTheEnvFileNamesThem()
    {
        var dev = app.Account("sk_test_majestix_dev");
        var prices = await dev.Prices.ListAsync(new PriceListOptions { LookupKeys = ["guru", "pro", "topup_5", "topup_25", "topup_100"], Limit = 100 });
        prices.Data.Select(p => p.Id).Order().ShouldBe(["price_devGuru", "price_devPro", "price_devTopup100", "price_devTopup25", "price_devTopup5"]);
        var guru = await dev.Prices.GetAsync("price_devGuru");
        guru.UnitAmount.ShouldBe(1000);
        guru.Recurring.Interval.ShouldBe("month");
        guru.Currency.ShouldBe("usd");
        guru.ProductId.ShouldStartWith("prod_");
        (await dev.Prices.GetAsync("price_devTopup25")).Type.ShouldBe("one_time");

        var env = System.IO.File.ReadAllLines(app.EnvFile).Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        env["STRIPE_API_BASE"].ShouldBe(app.BaseAddress.ToString().TrimEnd('/'));
        env["STRIPE_SECRET_KEY"].ShouldBe("sk_test_majestix_dev");
        env["STRIPE_WEBHOOK_SECRET"].ShouldBe("whsec_majestix_dev_only");
        env["STRIPE_GURU_PRICE_ID"].ShouldBe("price_devGuru");
        env["STRIPE_TOPUP_100_PRICE_ID"].ShouldBe("price_devTopup100");
    }

    [Fact]
    public async Task PricesAreFoundByLookupKey()
    {
        var account = app.NewAccount();
        var created = await account.Prices.CreateAsync(new PriceCreateOptions
        {
            Currency = "usd",
            UnitAmount = 2500,
            LookupKey = "topup_25",
            ProductData = new PriceProductDataOptions { Name = "Top-up" },
            Metadata = new() { ["credits"] = "2500" },
        });
        await account.PriceAsync(999);
        var found = await account.Prices.ListAsync(new PriceListOptions { LookupKeys = ["topup_25"], Active = true });
        found.Data.Single().Id.ShouldBe(created.Id);
        found.Data[0].Metadata["credits"].ShouldBe("2500");
        found.Data[0].Type.ShouldBe("one_time");
    }

    [Fact]
    public async Task ResetEmptiesOnlyThatAccount()
    {
        var one = app.NewAccount();
        var two = app.NewAccount();
        await one.Customers.CreateAsync(new CustomerCreateOptions());
        var kept = await two.Customers.CreateAsync(new CustomerCreateOptions());
        await one.ControlAsync(HttpMethod.Post, "/_stand-in/reset");
        (await one.Customers.ListAsync()).Data.ShouldBeEmpty();
        (await two.Customers.GetAsync(kept.Id)).Id.ShouldBe(kept.Id);
    }
}
