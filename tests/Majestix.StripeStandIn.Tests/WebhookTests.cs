using System.Globalization;
using System.Text.Json.Nodes;
using Stripe;

namespace Majestix.StripeStandIn.Tests;

public sealed class WebhookTests(StandInApp app) : IClassFixture<StandInApp>
{
    private static Task<Customer> TouchAsync(TestAccount account, Customer customer, string note) =>
        account.Customers.UpdateAsync(customer.Id, new CustomerUpdateOptions { Metadata = new() { ["note"] = note } });

    private static string Note(Event e) => ((Customer)e.Data.Object).Metadata["note"];

    [Fact]
    public async Task DeliveriesAreSignedWithTheEndpointSecretAndCarryTheLibrarysApiVersion()
    {
        var account = app.NewAccount();
        var inbox = await account.ListenAsync("payment_intent.succeeded");
        var pi = await account.PaymentIntents.CreateAsync(new PaymentIntentCreateOptions { Amount = 100, Currency = "usd", PaymentMethod = "pm_card_visa", Confirm = true });
        var events = await inbox.WaitForTypesAsync("payment_intent.succeeded");

        var delivery = inbox.All.Single();
        delivery.UserAgent.ShouldBe("Stripe/1.0 (+https://stripe.com/docs/webhooks)");
        delivery.ContentType!.ShouldStartWith("application/json");
        var evt = events.Single();
        evt.Id.ShouldMatch("^evt_[A-Za-z0-9]+$");
        evt.ApiVersion.ShouldBe(StripeConfiguration.ApiVersion);
        evt.Livemode.ShouldBeFalse();
        ((PaymentIntent)evt.Data.Object).Id.ShouldBe(pi.Id);

        // The raw header: t=<unix>,v1=<hex HMAC-SHA256 of "{t}.{body}" keyed by the secret's UTF-8 bytes>.
        var parts = delivery.Signature.Split(',').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        var key = System.Text.Encoding.UTF8.GetBytes(inbox.Secret);
        var expected = Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(key, System.Text.Encoding.UTF8.GetBytes($"{parts["t"]}.{delivery.Body}")));
        parts["v1"].ShouldBe(expected);
        long.Parse(parts["t"], CultureInfo.InvariantCulture).ShouldBeInRange(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
        Should.Throw<StripeException>(() => delivery.Event("whsec_wrong"));

        var fetched = await account.Events.GetAsync(evt.Id);
        fetched.Type.ShouldBe("payment_intent.succeeded");
        var listed = await account.Events.ListAsync(new EventListOptions { Type = "charge.succeeded" });
        listed.Data.Single().Type.ShouldBe("charge.succeeded");
    }

    [Fact]
    public async Task AnEndpointGetsOnlyTheEventsItEnabled()
    {
        var account = app.NewAccount();
        var refunds = await account.ListenAsync("charge.refunded");
        var everything = await account.ListenAsync();
        var pi = await account.PaymentIntents.CreateAsync(new PaymentIntentCreateOptions { Amount = 100, Currency = "usd", PaymentMethod = "pm_card_visa", Confirm = true });
        await account.Refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id });
        await everything.WaitForTypesAsync("payment_intent.succeeded", "charge.succeeded", "charge.refunded");
        (await refunds.WaitForTypesAsync("charge.refunded")).Select(e => e.Type).ShouldBe(["charge.refunded"]);

        (await account.WebhookEndpoints.ListAsync()).Data.Count.ShouldBe(2);
        (await account.WebhookEndpoints.ListAsync()).Data.ShouldAllBe(e => e.Secret == null);
        await account.WebhookEndpoints.DeleteAsync(refunds.EndpointId);
        (await account.WebhookEndpoints.ListAsync()).Data.Single().Id.ShouldBe(everything.EndpointId);
    }

    [Fact]
    public async Task AFailedDeliveryIsRetriedWithBackoff()
    {
        var account = app.NewAccount();
        var inbox = await account.ListenAsync("customer.updated");
        inbox.FailNext(2);
        var customer = await account.Customers.CreateAsync(new CustomerCreateOptions());
        await TouchAsync(account, customer, "once");

        var events = await inbox.WaitForAsync(e => e.Count == 1);
        Note(events.Single()).ShouldBe("once");
        inbox.All.Select(d => d.AnsweredWith).ShouldBe([500, 500, 200]);
        inbox.All.Select(d => d.Event(inbox.Secret).Id).Distinct().Count().ShouldBe(1);

        var log = (await account.ControlAsync(HttpMethod.Get, "/_stand-in/deliveries")).AsArray();
        log.Select(l => l!["attempt"]!.GetValue<int>()).ShouldBe([1, 2, 3]);
        log.Select(l => l!["status"]!.GetValue<int>()).ShouldBe([500, 500, 200]);
        log[0]!["event_id"]!.GetValue<string>().ShouldBe(events[0].Id);
        log[0]!["type"]!.GetValue<string>().ShouldBe("customer.updated");
    }

    [Fact]
    public async Task AnUnreachableEndpointDelaysNothingElse()
    {
        var account = app.NewAccount();
        var dead = await account.WebhookEndpoints.CreateAsync(new WebhookEndpointCreateOptions { Url = "http://127.0.0.1:9/nobody", EnabledEvents = ["customer.updated"] });
        var inbox = await account.ListenAsync("customer.updated");
        var customer = await account.Customers.CreateAsync(new CustomerCreateOptions());
        await TouchAsync(account, customer, "1");
        await TouchAsync(account, customer, "2");
        (await inbox.WaitForAsync(e => e.Count == 2)).Select(Note).ShouldBe(["1", "2"]);
        var log = (await account.ControlAsync(HttpMethod.Get, "/_stand-in/deliveries")).AsArray();
        log.ShouldContain(l => l!["endpoint"]!.GetValue<string>() == dead.Id && l["status"] == null && l["error"] != null);

        var e = await Should.ThrowAsync<StripeException>(() => account.WebhookEndpoints.CreateAsync(new WebhookEndpointCreateOptions { Url = "not a url", EnabledEvents = ["*"] }));
        e.StripeError.Param.ShouldBe("url");
    }

    [Fact]
    public async Task DeliveryGivesUpAfterTheLastAttempt()
    {
        var account = app.NewAccount();
        var inbox = await account.ListenAsync("customer.updated");
        inbox.FailNext(100);
        var customer = await account.Customers.CreateAsync(new CustomerCreateOptions());
        await TouchAsync(account, customer, "never");
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (inbox.All.Count < StandInApp.MaxDeliveryAttempts && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        // Longer than the next backoff would be: no fifth attempt comes.
        await Task.Delay(StandInApp.RetryBaseMilliseconds * (1 << StandInApp.MaxDeliveryAttempts) + 500);
        inbox.All.Count.ShouldBe(StandInApp.MaxDeliveryAttempts);
    }

    [Fact]
    public async Task DuplicatesSendExtraCopiesOfEachDelivery()
    {
        var account = app.NewAccount();
        var inbox = await account.ListenAsync("customer.updated");
        await account.ControlAsync(HttpMethod.Put, "/_stand-in/delivery", new { duplicates = 2 });
        var customer = await account.Customers.CreateAsync(new CustomerCreateOptions());
        await TouchAsync(account, customer, "dup");
        var events = await inbox.WaitForAsync(e => e.Count == 3);
        events.Select(e => e.Id).Distinct().Count().ShouldBe(1);
    }

    [Fact]
    public async Task HeldEventsAreReleasedNewestFirstWhenReordered()
    {
        var account = app.NewAccount();
        var inbox = await account.ListenAsync("customer.updated");
        await account.ControlAsync(HttpMethod.Put, "/_stand-in/delivery", new { hold = true, reorder = true });
        var customer = await account.Customers.CreateAsync(new CustomerCreateOptions());
        foreach (var note in new[] { "1", "2", "3" })
        {
            await TouchAsync(account, customer, note);
        }
        await Task.Delay(300);
        inbox.All.ShouldBeEmpty();

        var released = await account.ControlAsync(HttpMethod.Post, "/_stand-in/delivery/release");
        released["released"]!.GetValue<int>().ShouldBe(3);
        var events = await inbox.WaitForAsync(e => e.Count == 3);
        events.Select(Note).ShouldBe(["3", "2", "1"]);
    }

    [Fact]
    public async Task HeldEventsAreReleasedInOrderWithoutReorder()
    {
        var account = app.NewAccount();
        var inbox = await account.ListenAsync("customer.updated");
        await account.ControlAsync(HttpMethod.Put, "/_stand-in/delivery", new { hold = true });
        var customer = await account.Customers.CreateAsync(new CustomerCreateOptions());
        foreach (var note in new[] { "1", "2", "3" })
        {
            await TouchAsync(account, customer, note);
        }
        await Task.Delay(200);
        inbox.All.ShouldBeEmpty();
        await account.ControlAsync(HttpMethod.Put, "/_stand-in/delivery", new { hold = false });
        await account.ControlAsync(HttpMethod.Post, "/_stand-in/delivery/release");
        (await inbox.WaitForAsync(e => e.Count == 3)).Select(Note).ShouldBe(["1", "2", "3"]);
    }

    [Fact]
    public async Task ReorderDeliversARequestsEventsNewestFirst()
    {
        var account = app.NewAccount();
        var inbox = await account.ListenAsync("payment_intent.succeeded", "charge.succeeded");
        await account.ControlAsync(HttpMethod.Put, "/_stand-in/delivery", new { reorder = true });
        await account.PaymentIntents.CreateAsync(new PaymentIntentCreateOptions { Amount = 100, Currency = "usd", PaymentMethod = "pm_card_visa", Confirm = true });
        (await inbox.WaitForAsync(e => e.Count == 2)).Select(e => e.Type).ShouldBe(["charge.succeeded", "payment_intent.succeeded"]);
    }

    [Fact]
    public async Task ADelayHoldsEachDeliveryBack()
    {
        var account = app.NewAccount();
        var inbox = await account.ListenAsync("customer.updated");
        await account.ControlAsync(HttpMethod.Put, "/_stand-in/delivery", new { delay_ms = 400 });
        var customer = await account.Customers.CreateAsync(new CustomerCreateOptions());
        var started = DateTime.UtcNow;
        await TouchAsync(account, customer, "late");
        await inbox.WaitForAsync(e => e.Count == 1);
        (DateTime.UtcNow - started).ShouldBeGreaterThan(TimeSpan.FromMilliseconds(350));
    }

    [Fact]
    public async Task AnEventCanBeResent()
    {
        var account = app.NewAccount();
        var inbox = await account.ListenAsync("customer.updated");
        var customer = await account.Customers.CreateAsync(new CustomerCreateOptions());
        await TouchAsync(account, customer, "again");
        var first = (await inbox.WaitForAsync(e => e.Count == 1)).Single();
        var resent = await account.ControlAsync(HttpMethod.Post, $"/_stand-in/events/{first.Id}/resend");
        resent["deliveries"]!.AsArray().Single()!["status"]!.GetValue<int>().ShouldBe(200);
        (await inbox.WaitForAsync(e => e.Count == 2)).Select(e => e.Id).ShouldBe([first.Id, first.Id]);
    }

    [Fact]
    public async Task EventsAreListedNewestFirst()
    {
        var account = app.NewAccount();
        var customer = await account.Customers.CreateAsync(new CustomerCreateOptions());
        foreach (var note in new[] { "a", "b", "c" })
        {
            await TouchAsync(account, customer, note);
        }
        var events = await account.Events.ListAsync(new EventListOptions { Type = "customer.updated", Limit = 2 });
        events.Data.Select(Note).ShouldBe(["c", "b"]);
        events.HasMore.ShouldBeTrue();
    }

    [Fact]
    public async Task ControlEndpointsNeedTheAccountsKey()
    {
        var account = app.NewAccount();
        using var response = await account.SendAsync(HttpMethod.Get, "/_stand-in/deliveries", authorize: false);
        ((int)response.StatusCode).ShouldBe(401);
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"].ShouldNotBeNull();
    }
}
