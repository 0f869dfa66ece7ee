using Majestix.InferenceApi;
using Majestix.InferenceApi.Billing;
using Majestix.InferenceApi.Cors;
using Majestix.InferenceApi.Credits;
using Majestix.InferenceApi.Errors;
using Majestix.InferenceApi.Identity;
using Majestix.InferenceApi.Inference;
using Majestix.InferenceApi.Keys;
using Majestix.InferenceApi.OpenApi;
using Majestix.InferenceApi.Redis;
using Majestix.InferenceApi.Sessions;
using Majestix.InferenceApi.UsageEvents;
using Majestix.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults("inference-api");
builder.Services.ConfigureHttpJsonOptions(json => AppJson.Configure(json.SerializerOptions));
builder.Services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);

builder.AddRedis();                      // one multiplexer, short timeouts, REDIS_FAILURE_POLICY
builder.AddIdentityAndProtection();      // API keys, Firebase/App Check/OIDC, rate limits, audit events
builder.AddBrowserAccess();              // CORS for the web console's origins (Cors:AllowedOrigins)
builder.AddCredits();                    // hot balances and holds in Redis, ledger in Firestore, hold reaper
builder.AddBilling();                    // Stripe: plans, top-ups, the webhook's 11 events, auto top-up
builder.AddUsageEvents();                // one Pub/Sub usage event per model call (BigQuery usage_events), opaque user ids
builder.AddGateway();                    // catalog, providers with fallback, routing; credits held and settled per call
builder.AddSessions();                   // chat sessions in Redis, history Fernet-encrypted, TTL by plan
builder.AddRequestLimits();              // request body limits per endpoint kind (RequestLimits:*)
builder.Services.AddPublicOpenApi();     // /openapi/v1.json: the public routes, chosen by their caller requirement

var app = builder.Build();
app.UseServiceDefaults();                // request ids, request logs
app.UseApiErrorHandling();               // {"detail"} bodies; Redis outage → 503
app.MapDefaultEndpoints();               // GET /health
app.UseRouting();
app.UseBrowserAccess();                  // CORS: preflights answered before the gate, which never sees them
app.UseRequestBodyLimits();              // 413 for a body over its endpoint's limit, before the caller gate
app.UseMiddleware<CallerGate>();         // caller resolved once, limits applied, per endpoint group

app.MapIdentity();
app.MapApiKeys();
app.MapCredits();
app.MapBilling();                        // /billing: checkout, top-up, portal, auto top-up, the Stripe webhook
app.MapGateway();                        // /models, /code
app.MapSessions();
app.MapPublicOpenApi();

app.Run();

public partial class Program;
