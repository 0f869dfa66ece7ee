using System.Net;
using System.Text.Json;
using Majestix.InferenceApi.Identity;
using Majestix.InferenceApi.Sessions;
using static Majestix.InferenceApi.Tests.Sessions.SessionTestExtensions;

namespace Majestix.InferenceApi.Tests.Sessions;

[Collection(PlatformCollection.Name)]
public sealed class SessionsApiTests(PlatformFixture platform)
{
    [Fact]
    public async Task OwnerReadsTheHistoryWithTextAndContentBlocksThenDeletesIt()
    {
        await using var app = new InferenceApiApplication(platform);
        var owner = Web("olivia");
        var sessions = app.Sessions();
        var id = await sessions.CreateAsync(owner, "claude-haiku");
        var toolUse = JsonDocument.Parse("""[{"type":"tool_use","id":"tu_1","name":"read_file","input":{"path":"a.txt"}}]""").RootElement;
        await sessions.AppendAsync(id, owner, [
            SessionMessage.Text(SessionRoles.User, "open a.txt", At(1)),
            SessionMessage.Blocks(SessionRoles.Assistant, toolUse, At(2)),
        ]);
        using var web = app.WebClient("olivia");

        using var read = await web.GetAsync(new Uri($"/sessions/{id}", UriKind.Relative));
        read.StatusCode.ShouldBe(HttpStatusCode.OK);
        using var body = JsonDocument.Parse(await read.Content.ReadAsStringAsync());
        var root = body.RootElement;
        root.GetProperty("session_id").GetString().ShouldBe(id);
        root.GetProperty("model").GetString().ShouldBe("claude-haiku");
        root.GetProperty("updated_at").GetDateTimeOffset().ShouldBeGreaterThanOrEqualTo(root.GetProperty("created_at").GetDateTimeOffset());
        var messages = root.GetProperty("messages").EnumerateArray().ToList();
        messages.Count.ShouldBe(2);
        messages[0].GetProperty("role").GetString().ShouldBe("user");
        messages[0].GetProperty("content").GetString().ShouldBe("open a.txt");
        messages[0].GetProperty("created_at").GetString().ShouldBe("2026-01-01T00:00:01.000000Z");
        messages[1].GetProperty("role").GetString().ShouldBe("assistant");
        messages[1].GetProperty("content").GetRawText().ShouldBe(toolUse.GetRawText());

        using var deleted = await web.DeleteAsync(new Uri($"/sessions/{id}", UriKind.Relative));
        deleted.StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await app.Redis.KeyExistsAsync([SessionKeys.Meta(id), SessionKeys.History(id)])).ShouldBe(0);
        using var again = await web.GetAsync(new Uri($"/sessions/{id}", UriKind.Relative));
        await ShouldBeSessionNotFound(again);
    }

    [Fact]
    public async Task AnotherUserGetsNotFoundForReadAndDeleteAndTheSessionSurvives()
    {
        await using var app = new InferenceApiApplication(platform);
        var owner = Web("oscar");
        var id = await app.Sessions().CreateAsync(owner, "gpt-5-mini");
        await app.Sessions().AppendAsync(id, owner, [SessionMessage.Text(SessionRoles.User, "mine", At(1))]);
        var (_, intruderKey) = await app.SeedKeyAsync("mallory");
        using var intruderWeb = app.WebClient("mallory");
        using var intruderApi = app.KeyClient(intruderKey);

        using var readByWeb = await intruderWeb.GetAsync(new Uri($"/sessions/{id}", UriKind.Relative));
        using var readByKey = await intruderApi.GetAsync(new Uri($"/sessions/{id}", UriKind.Relative));
        using var deleteByWeb = await intruderWeb.DeleteAsync(new Uri($"/sessions/{id}", UriKind.Relative));
        using var deleteByKey = await intruderApi.DeleteAsync(new Uri($"/sessions/{id}", UriKind.Relative));
        using var unknown = await intruderWeb.GetAsync(new Uri($"/sessions/{SessionIds.New()}", UriKind.Relative));

        foreach (var response in new[] { readByWeb, readByKey, deleteByWeb, deleteByKey, unknown })
        {
            await ShouldBeSessionNotFound(response);
        }
        var survivor = await app.Sessions().LoadAsync(id, owner);
        survivor.ShouldNotBeNull();
        survivor.Messages.Single().Content.GetString().ShouldBe("mine");
    }

    [Fact]
    public async Task ApiKeyCallerReadsAndDeletesTheirOwnSession()
    {
        await using var app = new InferenceApiApplication(platform);
        var (_, apiKey) = await app.SeedKeyAsync("kira");
        var id = await app.Sessions().CreateAsync(new CallerContext(CallerSource.ApiKey, "kira", Plan.Free, "key_1"), "claude-haiku");
        using var client = app.KeyClient(apiKey);

        using var read = await client.GetAsync(new Uri($"/sessions/{id}", UriKind.Relative));
        read.StatusCode.ShouldBe(HttpStatusCode.OK);
        using var body = JsonDocument.Parse(await read.Content.ReadAsStringAsync());
        body.RootElement.GetProperty("messages").GetArrayLength().ShouldBe(0);
        using var deleted = await client.DeleteAsync(new Uri($"/sessions/{id}", UriKind.Relative));
        deleted.StatusCode.ShouldBe(HttpStatusCode.NoContent);
    }

    [Theory]
    [InlineData("x")]
    [InlineData("sess_short")]
    [InlineData("sess_AAAAAAAAAAAAAAAAAAAAA%2A")]
    [InlineData("SESS_AAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("sess_AAAAAAAAAAAAAAAAAAAAAAA")]
    public async Task MalformedSessionIdsAreNotFound(string sessionId)
    {
        await using var app = new InferenceApiApplication(platform);
        using var web = app.WebClient("nadia");

        using var read = await web.GetAsync(new Uri($"/sessions/{sessionId}", UriKind.Relative));
        using var delete = await web.DeleteAsync(new Uri($"/sessions/{sessionId}", UriKind.Relative));

        await ShouldBeSessionNotFound(read);
        await ShouldBeSessionNotFound(delete);
    }

    [Fact]
    public async Task UnauthenticatedCallersAreRejected()
    {
        await using var app = new InferenceApiApplication(platform);
        var id = await app.Sessions().CreateAsync(Web("olga"), "claude-haiku");
        using var anonymous = app.CreateClient();

        using var response = await anonymous.GetAsync(new Uri($"/sessions/{id}", UriKind.Relative));

        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    private static async Task ShouldBeSessionNotFound(HttpResponseMessage response)
    {
        response.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        body.RootElement.GetProperty("detail").GetString().ShouldBe("Session not found.");
    }
}
