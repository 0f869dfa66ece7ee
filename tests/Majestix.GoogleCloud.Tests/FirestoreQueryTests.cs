using Majestix.GoogleCloud.Firestore;
using Majestix.Testing;

namespace Majestix.GoogleCloud.Tests;

[Collection(FirestoreCollection.Name)]
public sealed class FirestoreQueryTests(FirestoreEmulatorFixture emulator) : FirestoreTestBase(emulator)
{
    private async Task SeedTasksAsync()
    {
        var batch = Firestore.Batch();
        for (var i = 1; i <= 10; i++)
        {
            batch.Create($"tasks/t{i:00}", new TaskRow(i % 2 == 0 ? "alice" : "bob", i % 4, $"task {i}", i > 7), TestJsonContext.Default.TaskRow);
        }

        batch.Create("users/alice/tasks/private", new TaskRow("alice", 9, "nested", false), TestJsonContext.Default.TaskRow);
        await batch.CommitAsync();
    }

    [Fact]
    public async Task CountCountsTheMatchingDocumentsOnTheServer()
    {
        await SeedTasksAsync();

        var all = await Firestore.Collection("tasks").CountAsync();
        var alices = await Firestore.Collection("tasks").Where("owner", FirestoreFilterOperator.Equal, "alice").CountAsync();
        var none = await Firestore.Collection("tasks").Where("owner", FirestoreFilterOperator.Equal, "nobody").CountAsync();

        (all, alices, none).ShouldBe((10L, 5L, 0L));
    }

    [Fact]
    public async Task GetAllReadsSeveralDocumentsAtOneReadTimeAndMapsMissingOnesToNull()
    {
        await SeedTasksAsync();

        var snapshot = await Firestore.GetAllAsync(["tasks/t01", "tasks/missing", "users/alice/tasks/private"]);
        var later = await Firestore.CreateAsync("tasks/later", Fields(("owner", "dan")));
        var afterwards = await Firestore.GetAsync("tasks/later");

        snapshot.Documents.Count.ShouldBe(3);
        snapshot[Firestore.Document("tasks/t01").Name]!.Fields["owner"].StringValue.ShouldBe("bob");
        snapshot[Firestore.Document("tasks/missing").Name].ShouldBeNull();
        snapshot[Firestore.Document("users/alice/tasks/private").Name]!.Fields["title"].StringValue.ShouldBe("nested");
        snapshot.ReadTime.ShouldBeGreaterThanOrEqualTo(snapshot[Firestore.Document("tasks/t01").Name]!.CreateTime);
        afterwards!.CreateTime.ShouldBeGreaterThan(snapshot.ReadTime, "a write after the read is not in it");
        later.ShouldNotBeNull();
    }

    [Fact]
    public async Task QueryAppliesFiltersOrderAndLimit()
    {
        await SeedTasksAsync();

        var results = await Firestore.Collection("tasks")
            .Where("owner", FirestoreFilterOperator.Equal, "alice")
            .Where("priority", FirestoreFilterOperator.GreaterThanOrEqual, 1L)
            .OrderByDescending("priority")
            .OrderBy("title")
            .Limit(3)
            .GetAsync();

        // alice owns t02, t04, t06, t08, t10 with priorities 2, 0, 2, 0, 2.
        results.Select(d => d.Id).ShouldBe(["t10", "t02", "t06"]);
    }

    [Fact]
    public async Task QuerySupportsInAndUnaryFilters()
    {
        await SeedTasksAsync();
        await Firestore.CreateAsync("tasks/untitled", Fields(("owner", "carol"), ("priority", 1L), ("title", FirestoreValue.Null)));

        var inResults = await Firestore.Collection("tasks")
            .Where("priority", FirestoreFilterOperator.In, FirestoreValue.FromArray(3L))
            .GetAsync();
        var nullTitles = await Firestore.Collection("tasks").Where("title", FirestoreUnaryOperator.IsNull).GetAsync();

        inResults.Select(d => d.Id).ShouldBe(["t03", "t07"]);
        nullTitles.Select(d => d.Id).ShouldBe(["untitled"]);
    }

    [Fact]
    public async Task CursorsPageThroughOrderedResultsWithoutGapsOrRepeats()
    {
        await SeedTasksAsync();
        var query = Firestore.Collection("tasks").OrderBy("priority").Limit(4);

        var seen = new List<string>();
        var page = await query.GetAsync();
        while (page.Count > 0)
        {
            seen.AddRange(page.Select(d => d.Id));
            page = await query.StartAfter(page[^1]).GetAsync();
        }

        seen.Count.ShouldBe(10);
        seen.Distinct().Count().ShouldBe(10);
        var priorities = new List<long>();
        foreach (var id in seen)
        {
            priorities.Add((await Firestore.GetAsync($"tasks/{id}"))!.Fields["priority"].IntegerValue);
        }

        priorities.ShouldBeInOrder(SortDirection.Ascending);
    }

    [Fact]
    public async Task ValueCursorsBoundTheRange()
    {
        await SeedTasksAsync();

        var inclusive = await Firestore.Collection("tasks").OrderBy("title").StartAt("task 3").EndAt("task 5").GetAsync();
        var exclusive = await Firestore.Collection("tasks").OrderBy("title").StartAfter("task 3").EndBefore("task 5").GetAsync();

        inclusive.Select(d => d.Id).ShouldBe(["t03", "t04", "t05"]);
        exclusive.Select(d => d.Id).ShouldBe(["t04"]);
    }

    [Fact]
    public async Task SubcollectionAndCollectionGroupQueriesReachNestedDocuments()
    {
        await SeedTasksAsync();

        var nested = await Firestore.Collection("users/alice/tasks").GetAsync();
        var group = await Firestore.CollectionGroup("tasks").Where("owner", FirestoreFilterOperator.Equal, "alice").GetAsync();

        nested.Select(d => d.Reference.Path).ShouldBe(["users/alice/tasks/private"]);
        group.Count.ShouldBe(6);
    }

    [Fact]
    public async Task QueryResultsConvertToTypedRecords()
    {
        await SeedTasksAsync();

        var results = await Firestore.Collection("tasks").Where("done", FirestoreFilterOperator.Equal, true).OrderBy("title").GetAsync();

        results.Select(d => d.ConvertTo(TestJsonContext.Default.TaskRow).Title).ShouldBe(["task 10", "task 8", "task 9"]);
    }
}
