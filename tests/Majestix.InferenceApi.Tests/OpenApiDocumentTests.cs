using System.Net;
using System.Text.Json;
using Majestix.InferenceApi.OpenApi;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Majestix.InferenceApi.Tests;

/// <summary>
/// <c>/openapi/v1.json</c> against what the app really maps: every public route is documented, every
/// documented path is mapped, admin and internal routes stay out, and every operation says what its errors look like.
/// Routes added later are checked by the same rule (their caller requirement), not a list kept here.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class OpenApiDocumentTests(PlatformFixture platform)
{
    private static readonly string[] Methods = ["get", "put", "post", "delete", "patch"];

    [Fact]
    public async Task TheDocumentHoldsExactlyThePublicRoutesTheAppMaps()
    {
        await using var app = new InferenceApiApplication(platform);
        using var client = app.CreateClient();
        using var document = await FetchAsync(client);

        var documented = Operations(document.RootElement).Select(operation => (operation.Path, operation.Method)).ToHashSet();
        var routes = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(endpoint => (endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? [])
                .Select(method => (Path: Normalize(endpoint.RoutePattern.RawText!), Method: method.ToLowerInvariant(), Public: OpenApiSetup.IsPublic(endpoint.Metadata))))
            .ToList();
        var publicRoutes = routes.Where(route => route.Public).Select(route => (route.Path, route.Method)).ToHashSet();

        documented.ShouldBe(publicRoutes, ignoreOrder: true);
        // The rule at work on today's routes: model calls and account routes in, admin, internal and health out.
        documented.ShouldContain(("/code", "post"));
        documented.ShouldContain(("/chat", "post"));
        documented.ShouldContain(("/v1/chat/completions", "post"));
        documented.ShouldContain(("/api-keys", "post"));
        documented.ShouldContain(("/sessions/{session_id}", "delete"));
        routes.ShouldContain(route => route.Path.StartsWith("/admin/", StringComparison.Ordinal));
        routes.ShouldContain(route => route.Path.StartsWith("/internal/", StringComparison.Ordinal));
        documented.ShouldNotContain(route => route.Path.StartsWith("/admin/", StringComparison.Ordinal) || route.Path.StartsWith("/internal/", StringComparison.Ordinal));
        documented.ShouldNotContain(route => route.Path == "/health" || route.Path.StartsWith("/openapi", StringComparison.Ordinal));
    }

    [Fact]
    public async Task EveryOperationDocumentsItsAnswerItsErrorBodiesAndItsSecurity()
    {
        await using var app = new InferenceApiApplication(platform);
        using var client = app.CreateClient();
        using var document = await FetchAsync(client);
        var root = document.RootElement;

        var operations = Operations(root).ToList();
        operations.ShouldNotBeEmpty();
        foreach (var (path, method, operation) in operations)
        {
            var name = $"{method} {path}";
            var responses = operation.GetProperty("responses").EnumerateObject().ToList();
            responses.ShouldContain(response => response.Name.StartsWith('2'), name);
            foreach (var response in responses.Where(response => response.Name.StartsWith('2') && response.Name != "204"))
            {
                Schema(root, response.Value, "application/json").ShouldNotBeNull($"{name} {response.Name} has no JSON schema");
            }
            foreach (var status in (string[])["401", "429", "503"])
            {
                responses.ShouldContain(response => response.Name == status, $"{name} does not document {status}");
            }
            foreach (var error in responses.Where(response => response.Name[0] is '4' or '5'))
            {
                var schema = Schema(root, error.Value, "application/json");
                schema.ShouldNotBeNull($"{name} {error.Name} has no JSON schema");
                var properties = schema.Value.GetProperty("properties").EnumerateObject().Select(p => p.Name).ToList();
                // {"detail"} everywhere; OpenAI's {"error"} for the /v1 endpoints' own errors; the /code answer cut by a provider (502).
                var shaped = properties.Contains("detail") || (path.StartsWith("/v1/", StringComparison.Ordinal) && properties.Contains("error"));
                shaped.ShouldBeTrue($"{name} {error.Name} documents neither detail nor error: {string.Join(", ", properties)}");
            }
            if (operation.TryGetProperty("requestBody", out var body))
            {
                Schema(root, body, "application/json").ShouldNotBeNull($"{name} has a body without a schema");
                responses.ShouldContain(response => response.Name == "400", name);
            }
            operation.GetProperty("security").GetArrayLength().ShouldBeGreaterThan(0, name);
        }

        var code = operations.Single(operation => operation is { Path: "/code", Method: "post" }).Operation;
        var codeResponses = code.GetProperty("responses");
        Schema(root, codeResponses.GetProperty("200"), "text/event-stream").ShouldNotBeNull();
        Schema(root, codeResponses.GetProperty("402"), "application/json")!.Value.GetProperty("properties").GetProperty("detail").ValueKind.ShouldBe(JsonValueKind.Object);
        var request = Schema(root, code.GetProperty("requestBody"), "application/json")!.Value;
        request.GetProperty("properties").TryGetProperty("messages", out _).ShouldBeTrue();
        request.GetProperty("properties").TryGetProperty("max_tokens", out _).ShouldBeTrue();
        var schemes = root.GetProperty("components").GetProperty("securitySchemes");
        schemes.EnumerateObject().Select(scheme => scheme.Value.TryGetProperty("name", out var header) ? header.GetString() : scheme.Value.GetProperty("scheme").GetString())
            .ShouldBe(["X-Api-Key", "bearer", "X-Firebase-AppCheck"], ignoreOrder: true);
    }

    private static async Task<JsonDocument> FetchAsync(HttpClient client)
    {
        // No credentials: the document is public.
        using var response = await client.GetAsync(new Uri("/openapi/v1.json", UriKind.Relative));
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/json");
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync());
    }

    private static IEnumerable<(string Path, string Method, JsonElement Operation)> Operations(JsonElement document) =>
        document.GetProperty("paths").EnumerateObject().SelectMany(path => path.Value.EnumerateObject()
            .Where(operation => Methods.Contains(operation.Name))
            .Select(operation => (path.Name, operation.Name, operation.Value)));

    // "/code/" (a group's root) is served as "/code" too; the document names it without the slash.
    private static string Normalize(string pattern)
    {
        var path = pattern.StartsWith('/') ? pattern : "/" + pattern;
        return path.Length > 1 ? path.TrimEnd('/') : path;
    }

    private static JsonElement? Schema(JsonElement document, JsonElement withContent, string mediaType) =>
        withContent.TryGetProperty("content", out var content) && content.TryGetProperty(mediaType, out var media) && media.TryGetProperty("schema", out var schema)
            ? Resolve(document, schema)
            : null;

    private static JsonElement Resolve(JsonElement document, JsonElement schema)
    {
        while (schema.TryGetProperty("$ref", out var reference))
        {
            schema = document.GetProperty("components").GetProperty("schemas").GetProperty(reference.GetString()!["#/components/schemas/".Length..]);
        }
        return schema;
    }
}
