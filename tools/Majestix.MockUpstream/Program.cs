using Majestix.MockUpstream;

var builder = WebApplication.CreateSlimBuilder(args);
builder.AddMockUpstream();

var app = builder.Build();
app.MapMockUpstream();
app.Run();

// Exposed for WebApplicationFactory in the tests.
public partial class Program;
