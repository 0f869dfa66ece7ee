using Majestix.GoogleCloud.Firestore;
using Majestix.Testing;

namespace Majestix.GoogleCloud.Tests;

[Collection(FirestoreCollection.Name)]
public sealed class FirestoreDocumentTests(FirestoreEmulatorFixture emulator) : FirestoreTestBase(emulator)
{
    [Fact]
    public async Task GetReturnsNullWhenDocumentIsMissing()
    {
        (await Firestore.GetAsync("users/nobody")).ShouldBeNull();
    }

    [Fact]
    public async Task CreateThenGetReturnsFieldsAndTimestamps()
    {
        var created = await Firestore.CreateAsync("users/u1", Fields(("plan", "pro"), ("credits", 500L)));

        var read = await Firestore.GetAsync("users/u1");

        read.ShouldNotBeNull();
        read.Id.ShouldBe("u1");
        read.Reference.Name.ShouldBe($"projects/{ProjectId}/databases/(default)/documents/users/u1");
        read.Fields["plan"].StringValue.ShouldBe("pro");
        read.Fields["credits"].IntegerValue.ShouldBe(500);
        read.UpdateTime.ShouldBe(created.UpdateTime!.Value);
        read.CreateTime.ShouldBeGreaterThan(DateTimeOffset.UtcNow.AddMinutes(-5));
    }

    [Fact]
    public async Task CreateFailsWhenDocumentExists()
    {
        await Firestore.CreateAsync("users/u1", Fields(("plan", "free")));

        var error = await Should.ThrowAsync<FirestoreException>(() => Firestore.CreateAsync("users/u1", Fields(("plan", "pro"))));

        error.Kind.ShouldBe(FirestoreErrorKind.AlreadyExists);
        (await Firestore.GetAsync("users/u1"))!.Fields["plan"].StringValue.ShouldBe("free");
    }

    [Fact]
    public async Task UpdateWithStaleUpdateTimeFailsWithFailedPrecondition()
    {
        await Firestore.CreateAsync("users/u1", Fields(("credits", 100L)));
        var original = (await Firestore.GetAsync("users/u1"))!;
        var newer = await Firestore.UpdateAsync("users/u1", Fields(("credits", 90L)), precondition: FirestorePrecondition.LastUpdatedAt(original.UpdateTime));

        var error = await Should.ThrowAsync<FirestoreException>(() =>
            Firestore.UpdateAsync("users/u1", Fields(("credits", 80L)), precondition: FirestorePrecondition.LastUpdatedAt(original.UpdateTime)));

        error.Kind.ShouldBe(FirestoreErrorKind.FailedPrecondition);
        newer.UpdateTime!.Value.ShouldBeGreaterThan(original.UpdateTime);
        (await Firestore.GetAsync("users/u1"))!.Fields["credits"].IntegerValue.ShouldBe(90);
    }

    [Fact]
    public async Task UpdateFailsWithNotFoundWhenDocumentIsMissing()
    {
        var error = await Should.ThrowAsync<FirestoreException>(() => Firestore.UpdateAsync("users/ghost", Fields(("credits", 1L))));

        error.Kind.ShouldBe(FirestoreErrorKind.NotFound);
        (await Firestore.GetAsync("users/ghost")).ShouldBeNull();
    }

    [Fact]
    public async Task UpdateWritesMaskedFieldsAndDeletesMaskedFieldsThatAreAbsent()
    {
        await Firestore.CreateAsync("users/u1", Fields(("plan", "free"), ("credits", 500L), ("stale", true)));

        await Firestore.UpdateAsync("users/u1", Fields(("plan", "pro")), fieldMask: ["plan", "stale"]);

        var updated = (await Firestore.GetAsync("users/u1"))!;
        updated.Fields.Keys.Order().ShouldBe(["credits", "plan"]);
        updated.Fields["plan"].StringValue.ShouldBe("pro");
        updated.Fields["credits"].IntegerValue.ShouldBe(500);
    }

    [Fact]
    public async Task UpdateEscapesFieldNamesThatAreNotIdentifiers()
    {
        await Firestore.CreateAsync("users/u1", Fields(("plain", 1L)));

        await Firestore.UpdateAsync("users/u1", Fields(("has-dash.and dot", 2L)));

        var updated = (await Firestore.GetAsync("users/u1"))!;
        updated.Fields["has-dash.and dot"].IntegerValue.ShouldBe(2);
        updated.Fields["plain"].IntegerValue.ShouldBe(1);
    }

    [Fact]
    public async Task SetReplacesTheWholeDocumentAndCreatesMissingOnes()
    {
        await Firestore.SetAsync("users/u1", Fields(("plan", "free"), ("credits", 500L)));

        await Firestore.SetAsync("users/u1", Fields(("plan", "guru")));

        var replaced = (await Firestore.GetAsync("users/u1"))!;
        replaced.Fields.Keys.ShouldBe(["plan"]);
        replaced.Fields["plan"].StringValue.ShouldBe("guru");
    }

    [Fact]
    public async Task SetWithMustNotExistFailsWithAlreadyExists()
    {
        await Firestore.SetAsync("users/u1", Fields(("plan", "free")));

        var error = await Should.ThrowAsync<FirestoreException>(() =>
            Firestore.SetAsync("users/u1", Fields(("plan", "pro")), FirestorePrecondition.MustNotExist));

        error.Kind.ShouldBe(FirestoreErrorKind.AlreadyExists);
    }

    [Fact]
    public async Task DeleteRemovesTheDocument()
    {
        await Firestore.CreateAsync("users/u1/keys/k1", Fields(("hash", "abc")));

        await Firestore.DeleteAsync("users/u1/keys/k1", FirestorePrecondition.MustExist);

        (await Firestore.GetAsync("users/u1/keys/k1")).ShouldBeNull();
    }

    [Fact]
    public async Task DeleteWithMustExistFailsWithNotFoundWhenDocumentIsMissing()
    {
        await Firestore.DeleteAsync("users/ghost");

        var error = await Should.ThrowAsync<FirestoreException>(() => Firestore.DeleteAsync("users/ghost", FirestorePrecondition.MustExist));

        error.Kind.ShouldBe(FirestoreErrorKind.NotFound);
    }

    [Fact]
    public async Task DocumentIdsWithReservedUrlCharactersRoundTrip()
    {
        const string id = "a b?c#d%e";
        await Firestore.CreateAsync($"users/{id}", Fields(("ok", true)));

        var read = await Firestore.GetAsync($"users/{id}");

        read.ShouldNotBeNull();
        read.Id.ShouldBe(id);
    }

    [Fact]
    public async Task AddCreatesADocumentWithAGeneratedId()
    {
        var first = await Firestore.AddAsync("users/u1/events", Fields(("kind", "login")));
        var second = await Firestore.AddAsync("users/u1/events", Fields(("kind", "logout")));

        first.Id.Length.ShouldBe(20);
        first.Id.ShouldNotBe(second.Id);
        (await Firestore.GetAsync(first.Path))!.Fields["kind"].StringValue.ShouldBe("login");
    }

    [Fact]
    public async Task ProjectsAreIsolatedOnTheSharedEmulator()
    {
        await Firestore.CreateAsync("users/u1", Fields(("plan", "pro")));
        var otherProject = TestIsolation.NewProjectId("other");
        using var http = new HttpClient { BaseAddress = new Uri($"http://{Emulator.EmulatorHost}/v1/") };
        var other = new FirestoreClient(http, Microsoft.Extensions.Options.Options.Create(new FirestoreOptions { ProjectId = otherProject }));

        (await other.GetAsync("users/u1")).ShouldBeNull();

        await Emulator.ClearAsync(ProjectId);
        (await Firestore.GetAsync("users/u1")).ShouldBeNull();
    }
}
