using Majestix.InferenceApi.Credits;
using Majestix.InferenceApi.Errors;
using Majestix.InferenceApi.Identity;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Majestix.InferenceApi.OpenApi;

/// <summary>Marks an endpoint whose answer can be server-sent events of <see cref="EventType"/> (with <c>"stream": true</c>).</summary>
internal sealed record StreamsEvents(Type EventType);

/// <summary>
/// The public API's OpenAPI document at <c>/openapi/v1.json</c>. An endpoint is in it when it admits an
/// API key or a web user and is not admin-only (<see cref="IsPublic"/>): admin and <c>/internal</c> routes,
/// and routes that name no caller (health, this document), are left out by that rule, not by a list, so
/// routes added later are sorted by the same metadata. Every operation gets the errors the gate and the
/// error handling answer for it (<c>{"detail"}</c>: 401, 429, 503, and 400 and 413 for one with a body), and its
/// security: an API key, or a Firebase ID token together with an App Check token.
/// </summary>
internal static class OpenApiSetup
{
    public const string DocumentName = "v1";
    private const string ApiKeyScheme = "ApiKey";
    private const string FirebaseScheme = "FirebaseIdToken";
    private const string AppCheckScheme = "AppCheck";
    private const string Json = "application/json";

    public static IServiceCollection AddPublicOpenApi(this IServiceCollection services) =>
        services.AddOpenApi(DocumentName, options =>
        {
            options.ShouldInclude = description => IsPublic(description.ActionDescriptor.EndpointMetadata);
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "Majestix Inference API",
                    Version = DocumentName,
                    Description = "Model calls with credits, chat sessions, API keys and usage. Errors are {\"detail\": ...} "
                        + "except the OpenAI-compatible /v1 endpoints' own, which use OpenAI's error object.",
                };
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes = new Dictionary<string, IOpenApiSecurityScheme>
                {
                    [ApiKeyScheme] = new OpenApiSecurityScheme
                    {
                        Type = SecuritySchemeType.ApiKey,
                        In = ParameterLocation.Header,
                        Name = "X-Api-Key",
                        Description = "An API key (inf_...). The /v1 endpoints also take it as Authorization: Bearer inf_..., as OpenAI SDKs send it.",
                    },
                    [FirebaseScheme] = new OpenApiSecurityScheme
                    {
                        Type = SecuritySchemeType.Http,
                        Scheme = "bearer",
                        BearerFormat = "JWT",
                        Description = "A Firebase ID token of a signed-in user; always together with an App Check token.",
                    },
                    [AppCheckScheme] = new OpenApiSecurityScheme
                    {
                        Type = SecuritySchemeType.ApiKey,
                        In = ParameterLocation.Header,
                        Name = "X-Firebase-AppCheck",
                        Description = "A Firebase App Check token of the web app.",
                    },
                };
                // Groups map "/code" as "/code/"; clients call it without the slash, and routing takes both.
                foreach (var path in document.Paths.Keys.Where(path => path.Length > 1 && path.EndsWith('/')).ToList())
                {
                    document.Paths[path.TrimEnd('/')] = document.Paths[path];
                    document.Paths.Remove(path);
                }
                return Task.CompletedTask;
            });
            options.AddSchemaTransformer((schema, _, _) =>
            {
                // The web defaults also read numbers written as strings; the API documents numbers as numbers.
                if (schema.Type is { } type && (type & (JsonSchemaType.Number | JsonSchemaType.Integer)) != 0 && (type & JsonSchemaType.String) != 0)
                {
                    schema.Type = type & ~JsonSchemaType.String;
                    schema.Pattern = null;
                }
                return Task.CompletedTask;
            });
            options.AddOperationTransformer(async (operation, context, cancellationToken) =>
            {
                var metadata = context.Description.ActionDescriptor.EndpointMetadata;
                var requirement = metadata.OfType<CallerRequirement>().Last();
                operation.Security = [];
                if (requirement.AllowsApiKey)
                {
                    operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(ApiKeyScheme, context.Document)] = [] });
                }
                if (requirement.AllowsWeb)
                {
                    operation.Security.Add(new OpenApiSecurityRequirement
                    {
                        [new OpenApiSecuritySchemeReference(FirebaseScheme, context.Document)] = [],
                        [new OpenApiSecuritySchemeReference(AppCheckScheme, context.Document)] = [],
                    });
                }

                operation.Responses ??= [];
                var detail = await context.GetOrCreateSchemaAsync(typeof(ErrorDetail), null, cancellationToken);
                var rateLimited = await context.GetOrCreateSchemaAsync(typeof(RateLimitedError), null, cancellationToken);
                AddError(operation, StatusCodes.Status401Unauthorized, "Missing or invalid credentials.", detail);
                AddError(operation, StatusCodes.Status429TooManyRequests, "Rate limited (Retry-After says when to retry).", rateLimited);
                AddError(operation, StatusCodes.Status503ServiceUnavailable, "The rate-limit and credit store cannot be reached.", detail);
                if (operation.RequestBody is not null)
                {
                    AddError(operation, StatusCodes.Status400BadRequest, "The body is not valid JSON or not a valid request.", detail);
                    AddError(operation, StatusCodes.Status413PayloadTooLarge, "The body is larger than the endpoint accepts.", detail);
                }

                if (metadata.OfType<StreamsEvents>().LastOrDefault() is { } streams
                    && operation.Responses.TryGetValue("200", out var ok) && ok is OpenApiResponse okResponse)
                {
                    okResponse.Content ??= new Dictionary<string, OpenApiMediaType>();
                    okResponse.Content["text/event-stream"] = new OpenApiMediaType
                    {
                        Schema = await context.GetOrCreateSchemaAsync(streams.EventType, null, cancellationToken),
                    };
                    okResponse.Description = "JSON, or with \"stream\": true server-sent events, each \"data: {json}\" frame one event as described.";
                }
            });
        });

    /// <summary>Whether an endpoint belongs in the public document: it admits an API key or a web user, and not only admins.</summary>
    public static bool IsPublic(IEnumerable<object> endpointMetadata) =>
        endpointMetadata.OfType<CallerRequirement>().LastOrDefault() is { RequiresAdmin: false } requirement
        && (requirement.AllowsApiKey || requirement.AllowsWeb);

    /// <summary>
    /// Serves the document, made once on the first request: making it costs tens of milliseconds of CPU (about
    /// 25 ms a request with MapOpenApi, which makes it every time), the endpoint needs no credentials, and the
    /// routes cannot change while the process runs.
    /// </summary>
    public static IEndpointConventionBuilder MapPublicOpenApi(this IEndpointRouteBuilder routes)
    {
        var services = routes.ServiceProvider;
        var document = new Lazy<Task<byte[]>>(async () =>
        {
            var generated = await services.GetRequiredKeyedService<IOpenApiDocumentProvider>(DocumentName).GetOpenApiDocumentAsync(CancellationToken.None);
            return System.Text.Encoding.UTF8.GetBytes(await generated.SerializeAsJsonAsync(OpenApiSpecVersion.OpenApi3_1, CancellationToken.None));
        });
        return routes.MapGet($"/openapi/{DocumentName}.json", async context =>
        {
            var body = await document.Value;
            context.Response.ContentType = "application/json; charset=utf-8";
            context.Response.ContentLength = body.Length;
            await context.Response.Body.WriteAsync(body, context.RequestAborted);
        }).ExcludeFromDescription();
    }

    /// <summary>What <c>/code</c> and <c>/chat</c> read and answer, streamed or not, and the errors of a model call.</summary>
    public static RouteHandlerBuilder DescribesModelCall<TRequest, TResponse>(this RouteHandlerBuilder builder, string summary)
        where TRequest : notnull =>
        builder.WithSummary(summary)
            .Accepts<TRequest>(Json)
            .Produces<TResponse>(StatusCodes.Status200OK, Json)
            .WithMetadata(new StreamsEvents(typeof(StreamEvent)))
            .Produces<ErrorDetail>(StatusCodes.Status400BadRequest, Json)
            .Produces<QuotaExceededError>(StatusCodes.Status402PaymentRequired, Json)
            .Produces<ErrorDetail>(StatusCodes.Status403Forbidden, Json)
            .Produces<TResponse>(StatusCodes.Status502BadGateway, Json)
            .Produces<ErrorDetail>(StatusCodes.Status504GatewayTimeout, Json);

    /// <summary>What <c>/v1/chat/completions</c> reads and answers, and its errors in OpenAI's shape.</summary>
    public static RouteHandlerBuilder DescribesChatCompletion(this RouteHandlerBuilder builder) =>
        builder.WithSummary("OpenAI Chat Completions: the same plan gating, credits and fallbacks as /code")
            .Accepts<ChatCompletionRequestBody>(Json)
            .Produces<ChatCompletionBody>(StatusCodes.Status200OK, Json)
            .WithMetadata(new StreamsEvents(typeof(ChatCompletionChunkBody)))
            .Produces<OpenAiErrorBody>(StatusCodes.Status400BadRequest, Json)
            .Produces<OpenAiErrorBody>(StatusCodes.Status402PaymentRequired, Json)
            .Produces<OpenAiErrorBody>(StatusCodes.Status403Forbidden, Json)
            .Produces<OpenAiErrorBody>(StatusCodes.Status404NotFound, Json)
            .Produces<OpenAiErrorBody>(StatusCodes.Status502BadGateway, Json)
            .Produces<OpenAiErrorBody>(StatusCodes.Status503ServiceUnavailable, Json)
            .Produces<OpenAiErrorBody>(StatusCodes.Status504GatewayTimeout, Json);

    private static void AddError(OpenApiOperation operation, int status, string description, OpenApiSchema schema)
    {
        var key = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (operation.Responses!.ContainsKey(key))
        {
            return;
        }
        operation.Responses[key] = new OpenApiResponse
        {
            Description = description,
            Content = new Dictionary<string, OpenApiMediaType> { [Json] = new OpenApiMediaType { Schema = schema } },
        };
    }
}
