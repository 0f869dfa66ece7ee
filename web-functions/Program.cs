using Majestix.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults("web-functions");

var app = builder.Build();
app.UseServiceDefaults();
app.MapDefaultEndpoints();

app.Run();

public partial class Program;
