using Majestix.StripeStandIn;

var builder = WebApplication.CreateSlimBuilder(args);
builder.AddStripeStandIn();

var app = builder.Build();
app.MapStripeStandIn();
app.Run();

// Exposed for WebApplicationFactory in the tests.
public partial class Program;
