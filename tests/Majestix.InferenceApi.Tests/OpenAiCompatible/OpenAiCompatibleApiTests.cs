using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Majestix.GoogleCloud.Firestore;
using Majestix.InferenceApi.Credits;
using Majestix.InferenceApi.Inference.Catalog;
using Majestix.InferenceApi.Tests.Credits;
using Microsoft.Extensions.DependencyInjection;

namespace Majestix.InferenceApi.Tests.OpenAiCompatible;

/// <summary>
/// <c>/v1/chat/completions</c> and <c>/v1/models</c> end to end (mock upstream, real Redis credits): the
/// OpenAI wire shapes, and errors in OpenAI's <c>{"error"}</c> shape with the statuses SDKs map.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class OpenAiCompatibleApiTests(PlatformFixture platform)
{
    private static readonly Uri Completions = new("/v1/chat/completions", UriKind.Relative);
    private static readonly Uri Models = new("/v1/models", UriKind.Relative);

    [Fact]
    public async Task NonStreamingAnswerIsAChatCompletionWithUsageAndIsCharged()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("oa-batch", "pro");
        var (_, apiKey) = await app.SeedKeyAsync("oa-batch");
        using var client = app.KeyClient(apiKey);
        var before = await RemainingAsync(client);

        using var response = await client.PostAsJsonAsync(Completions, new
        {
            model = "gpt-5-mini",
            messages = new object[] { new { role = "system", content = "Be brief." }, new { role = "user", content = "Explain recursion." } },
        });

        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = body.RootElement;
        root.GetProperty("id").GetString()!.ShouldStartWith("chatcmpl-");
        root.GetProperty("object").GetString().ShouldBe("chat.completion");
        root.GetProperty("created").GetInt64().ShouldBeGreaterThan(1_700_000_000);
        root.GetProperty("model").GetString().ShouldBe("gpt-5-mini");
        var choice = root.GetProperty("choices").EnumerateArray().Single();
        choice.GetProperty("index").GetInt32().ShouldBe(0);
        choice.GetProperty("message").GetProperty("role").GetString().ShouldBe("assistant");
        choice.GetProperty("message").GetProperty("content").GetString().ShouldNotBeNullOrEmpty();
        choice.GetProperty("message").TryGetProperty("tool_calls", out _).ShouldBeFalse();
        choice.GetProperty("finish_reason").GetString().ShouldBe("stop");
        var usage = root.GetProperty("usage");
        usage.GetProperty("completion_tokens").GetInt32().ShouldBe(16);
        usage.GetProperty("prompt_tokens").GetInt32().ShouldBeGreaterThan(0);
        usage.GetProperty("total_tokens").GetInt32().ShouldBe(usage.GetProperty("prompt_tokens").GetInt32() + 16);
        // The answer went out before its settle finished; once it has, exactly the reported tokens are charged.
        await app.WaitForSettlesAsync();
        (await RemainingAsync(client)).ShouldBe(before - Price(app, "gpt-5-mini", usage));
    }

    [Fact]
    public async Task TheProviderCallContinuesTheCallersTrace()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("oa-trace", "pro");
        var (_, apiKey) = await app.SeedKeyAsync("oa-trace");
        using var client = app.KeyClient(apiKey);
        await platform.MockUpstream.ResetAsync();
        const string traceId = "0af7651916cd43dd8448eb211c80319c";
        const string callerSpan = "b7ad6b7169203331";
        using var request = new HttpRequestMessage(HttpMethod.Post, Completions)
        {
            Content = JsonContent.Create(new { model = "gpt-5-mini", messages = new[] { new { role = "user", content = "Trace me." } } }),
        };
        request.Headers.Add("traceparent", $"00-{traceId}-{callerSpan}-01");

        using var response = await client.SendAsync(request);

        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        // One value: the caller's trace, under a span of the gateway's own.
        var sent = (await platform.MockUpstream.RequestsAsync()).Single().Traceparent;
        sent.ShouldNotBeNull();
        sent.ShouldMatch($"^00-{traceId}-[0-9a-f]{{16}}-01$");
        sent.ShouldNotContain(callerSpan);
    }

    [Fact]
    public async Task StreamSendsRoleThenContentThenFinishThenUsageThenDone()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("oa-stream", "pro");
        var (_, apiKey) = await app.SeedKeyAsync("oa-stream");
        using var client = app.BearerClient(apiKey);
        var before = await RemainingAsync(client);

        var (frames, done) = await StreamAsync(client, new
        {
            model = "claude-haiku",
            stream = true,
            stream_options = new { include_usage = true },
            messages = new[] { new { role = "user", content = "Count to five." } },
        });

        done.ShouldBeTrue();
        frames.ShouldAllBe(f => f.GetProperty("object").GetString() == "chat.completion.chunk");
        frames.Select(f => f.GetProperty("id").GetString()).Distinct().Count().ShouldBe(1);
        frames.ShouldAllBe(f => f.GetProperty("model").GetString() == "claude-haiku");
        frames[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString().ShouldBe("assistant");
        var text = string.Concat(frames.Skip(1).Where(f => f.GetProperty("choices").GetArrayLength() == 1)
            .Select(f => f.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var c) ? c.GetString() : ""));
        text.ShouldNotBeEmpty();
        var finish = frames[^2];
        finish.GetProperty("choices")[0].GetProperty("finish_reason").GetString().ShouldBe("stop");
        var usage = frames[^1];
        usage.GetProperty("choices").GetArrayLength().ShouldBe(0);
        usage.GetProperty("usage").GetProperty("completion_tokens").GetInt32().ShouldBe(16);
        usage.GetProperty("usage").GetProperty("total_tokens").GetInt32().ShouldBeGreaterThan(16);
        await app.WaitForSettlesAsync();
        (await RemainingAsync(client)).ShouldBe(before - Price(app, "claude-haiku", usage.GetProperty("usage")));
    }

    [Fact]
    public async Task StreamWithoutIncludeUsageEndsWithTheFinishChunk()
    {
        await using var app = new InferenceApiApplication(platform);
        var (_, apiKey) = await app.SeedKeyAsync("oa-nousage");
        using var client = app.KeyClient(apiKey);

        var (frames, done) = await StreamAsync(client, new { model = "gpt-5-mini", stream = true, messages = new[] { new { role = "user", content = "hi" } } });

        done.ShouldBeTrue();
        frames.Where(f => f.TryGetProperty("usage", out _)).ShouldBeEmpty();
        frames[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString().ShouldBe("stop");
    }

    [Fact]
    public async Task ToolCallsComeBackInOpenAiShapeStreamingAndNot()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.SeedUserAsync("oa-tools", "pro");
        var (_, apiKey) = await app.SeedKeyAsync("oa-tools");
        using var client = app.BearerClient(apiKey);
        var tools = new[] { new { type = "function", function = new { name = "get_weather", description = "Weather", parameters = new { type = "object", properties = new { city = new { type = "string" } } } } } };
        var messages = new[] { new { role = "user", content = "Weather in Oslo? [[mock tool_call=get_weather]]" } };

        using var response = await client.PostAsJsonAsync(Completions, new { model = "gpt-5-mini", messages, tools, tool_choice = "auto" });
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var choice = body.RootElement.GetProperty("choices")[0];
        choice.GetProperty("finish_reason").GetString().ShouldBe("tool_calls");
        var call = choice.GetProperty("message").GetProperty("tool_calls").EnumerateArray().Single();
        call.GetProperty("id").GetString().ShouldNotBeNullOrEmpty();
        call.GetProperty("type").GetString().ShouldBe("function");
        call.GetProperty("function").GetProperty("name").GetString().ShouldBe("get_weather");
        JsonDocument.Parse(call.GetProperty("function").GetProperty("arguments").GetString()!).RootElement.ValueKind.ShouldBe(JsonValueKind.Object);

        var (frames, done) = await StreamAsync(client, new { model = "claude-haiku", stream = true, messages, tools });
        done.ShouldBeTrue();
        var delta = frames.Select(f => f.GetProperty("choices")[0].GetProperty("delta"))
            .Single(d => d.TryGetProperty("tool_calls", out _)).GetProperty("tool_calls")[0];
        delta.GetProperty("index").GetInt32().ShouldBe(0);
        delta.GetProperty("id").GetString().ShouldNotBeNullOrEmpty();
        delta.GetProperty("function").GetProperty("name").GetString().ShouldBe("get_weather");
        delta.GetProperty("function").GetProperty("arguments").GetString().ShouldNotBeNullOrEmpty();
        frames[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString().ShouldBe("tool_calls");
    }

    [Fact]
    public async Task ModelsAreListedInOpenAiShapeFilteredByPlan()
    {
        await using var app = new InferenceApiApplication(platform);
        var (_, freeKey) = await app.SeedKeyAsync("oa-free-models");
        await app.SeedUserAsync("oa-guru-models", "guru");
        var (_, guruKey) = await app.SeedKeyAsync("oa-guru-models");

        var free = await ModelIdsAsync(app.BearerClient(freeKey));
        var guru = await ModelIdsAsync(app.KeyClient(guruKey));

        free.ShouldContain("gpt-5-mini");
        free.ShouldNotContain("claude-opus");
        guru.ShouldContain("claude-opus");
        using var plain = app.KeyClient(freeKey);
        using var gateway = JsonDocument.Parse(await plain.GetStringAsync(new Uri("/models", UriKind.Relative)));
        free.ShouldBe(gateway.RootElement.GetProperty("models").EnumerateArray().Select(m => m.GetProperty("key").GetString()!).ToList());

        using var one = await plain.GetAsync(new Uri("/v1/models/gpt-5-mini", UriKind.Relative));
        using var model = JsonDocument.Parse(await one.Content.ReadAsStringAsync());
        model.RootElement.GetProperty("object").GetString().ShouldBe("model");
        using var outside = await plain.GetAsync(new Uri("/v1/models/claude-opus", UriKind.Relative));
        outside.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        await ShouldBeOpenAiErrorAsync(outside, "model_not_found");
    }

    [Fact]
    public async Task RefusalsUseOpenAiErrorShapeAndStatus()
    {
        await using var app = new InferenceApiApplication(platform);
        var (_, freeKey) = await app.SeedKeyAsync("oa-refused");
        using var client = app.BearerClient(freeKey);

        using var outsidePlan = await client.PostAsJsonAsync(Completions, new { model = "claude-opus", messages = new[] { new { role = "user", content = "hi" } } });
        outsidePlan.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await ShouldBeOpenAiErrorAsync(outsidePlan, "model_not_in_plan")).ShouldContain("free plan");

        using var unknown = await client.PostAsJsonAsync(Completions, new { model = "no-such-model", messages = new[] { new { role = "user", content = "hi" } } });
        unknown.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        await ShouldBeOpenAiErrorAsync(unknown, "model_not_found");

        using var invalid = await client.PostAsync(Completions, new StringContent("""{"model": "gpt-5-mini", "messages": [{"role": "user", "content": "x"}], "temperature": 9}""", Encoding.UTF8, "application/json"));
        invalid.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        using var invalidBody = JsonDocument.Parse(await invalid.Content.ReadAsStringAsync());
        invalidBody.RootElement.GetProperty("error").GetProperty("type").GetString().ShouldBe("invalid_request_error");
        invalidBody.RootElement.GetProperty("error").GetProperty("param").GetString().ShouldBe("temperature");

        using var notJson = await client.PostAsync(Completions, new StringContent("{", Encoding.UTF8, "application/json"));
        notJson.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        await ShouldBeOpenAiErrorAsync(notJson, "invalid_json");
    }

    [Fact]
    public async Task InsufficientCreditsAre402InsufficientQuota()
    {
        await using var app = new InferenceApiApplication(platform);
        await app.Firestore.SetAsync("users/oa-poor", new Dictionary<string, FirestoreValue> { ["plan"] = "free", ["allocation"] = 1_000_000L, ["created_at"] = DateTimeOffset.UtcNow });
        var (_, apiKey) = await app.SeedKeyAsync("oa-poor");
        using var client = app.BearerClient(apiKey);

        using var response = await client.PostAsJsonAsync(Completions, new { model = "claude-haiku", messages = new[] { new { role = "user", content = "hi" } } });

        response.StatusCode.ShouldBe(HttpStatusCode.PaymentRequired);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        body.RootElement.GetProperty("error").GetProperty("type").GetString().ShouldBe("insufficient_quota");
        body.RootElement.GetProperty("error").GetProperty("message").GetString()!.ShouldContain("Insufficient credits");
        (await RemainingAsync(client)).ShouldBe(1m);
    }

    private static async Task<string> ShouldBeOpenAiErrorAsync(HttpResponseMessage response, string code)
    {
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var error = body.RootElement.GetProperty("error");
        error.GetProperty("code").GetString().ShouldBe(code);
        error.GetProperty("type").GetString().ShouldNotBeNullOrEmpty();
        return error.GetProperty("message").GetString()!;
    }

    private static async Task<List<string>> ModelIdsAsync(HttpClient client)
    {
        using (client)
        {
            using var body = JsonDocument.Parse(await client.GetStringAsync(Models));
            body.RootElement.GetProperty("object").GetString().ShouldBe("list");
            var data = body.RootElement.GetProperty("data").EnumerateArray().ToList();
            data.ShouldAllBe(m => m.GetProperty("object").GetString() == "model" && m.GetProperty("created").GetInt64() > 0 && m.GetProperty("owned_by").GetString()!.Length > 0);
            return [.. data.Select(m => m.GetProperty("id").GetString()!)];
        }
    }

    /// <summary>The JSON frames, and whether the stream ended with <c>data: [DONE]</c>.</summary>
    private static async Task<(List<JsonElement> Frames, bool Done)> StreamAsync(HttpClient client, object body)
    {
        using var response = await client.PostAsJsonAsync(Completions, body);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        response.Content.Headers.ContentType!.MediaType.ShouldBe("text/event-stream");
        var frames = new List<JsonElement>();
        var done = false;
        foreach (var line in (await response.Content.ReadAsStringAsync()).Split('\n'))
        {
            if (line == "data: [DONE]")
            {
                done = true;
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                done.ShouldBeFalse("nothing follows [DONE]");
                frames.Add(JsonDocument.Parse(line[6..]).RootElement.Clone());
            }
        }
        return (frames, done);
    }

    internal static decimal Price(InferenceApiApplication app, string modelKey, JsonElement usage)
    {
        var model = app.Services.GetRequiredService<ModelCatalog>().Find(modelKey)!;
        return CreditUnits.ToCredits(CreditPrice.ForTokens(model.InputUsdPerMillion, model.OutputUsdPerMillion,
            usage.GetProperty("prompt_tokens").GetInt32(), usage.GetProperty("completion_tokens").GetInt32()));
    }

    internal static async Task<decimal> RemainingAsync(HttpClient client)
    {
        using var response = await client.PostAsync(new Uri("/credits/refresh", UriKind.Relative), null);
        response.EnsureSuccessStatusCode();
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("credits_remaining").GetDecimal();
    }
}
