using Majestix.GoogleCloud.Firestore;
using Majestix.Testing;

namespace Majestix.GoogleCloud.Tests;

[Collection(FirestoreCollection.Name)]
public sealed class FirestoreWriteTests(FirestoreEmulatorFixture emulator) : FirestoreTestBase(emulator)
{
    [Fact]
    public async Task BatchCommitsEveryKindOfWrite()
    {
        await Firestore.CreateAsync("users/u1", Fields(("credits", 10L), ("plan", "free")));
        await Firestore.CreateAsync("holds/h1", Fields(("amount", 5L)));
        var batch = Firestore.Batch();
        batch.Create("ledger/evt1", Fields(("delta", -5L)));
        batch.Update("users/u1", Fields(("plan", "pro")));
        batch.Set("settings/s1", Fields(("theme", "dark")));
        batch.Delete("holds/h1", FirestorePrecondition.MustExist);

        var result = await batch.CommitAsync();

        result.WriteResults.Count.ShouldBe(4);
        result.CommitTime.ShouldBeGreaterThan(DateTimeOffset.UtcNow.AddMinutes(-5));
        (await Firestore.GetAsync("ledger/evt1"))!.Fields["delta"].IntegerValue.ShouldBe(-5);
        var user = (await Firestore.GetAsync("users/u1"))!;
        user.Fields["plan"].StringValue.ShouldBe("pro");
        user.Fields["credits"].IntegerValue.ShouldBe(10);
        (await Firestore.GetAsync("settings/s1")).ShouldNotBeNull();
        (await Firestore.GetAsync("holds/h1")).ShouldBeNull();
    }

    [Fact]
    public async Task BatchAppliesNothingWhenOneWriteFails()
    {
        await Firestore.CreateAsync("ledger/evt1", Fields(("delta", -5L)));
        var batch = Firestore.Batch();
        batch.Set("users/u1", Fields(("credits", 999L)));
        batch.Create("ledger/evt1", Fields(("delta", -5L)));

        var error = await Should.ThrowAsync<FirestoreException>(() => batch.CommitAsync());

        error.Kind.ShouldBe(FirestoreErrorKind.AlreadyExists);
        (await Firestore.GetAsync("users/u1")).ShouldBeNull();
    }

    [Fact]
    public async Task BulkWriteAppliesEachWriteOnItsOwnAndReportsAnExistingDocumentAsAlreadyExists()
    {
        await Firestore.CreateAsync("ledger/evt2", Fields(("delta", -2L)));
        var bulk = Firestore.BulkWriter();
        bulk.Create("ledger/evt1", Fields(("delta", -1L)));
        bulk.Create("ledger/evt2", Fields(("delta", -99L)));
        bulk.Create("ledger/evt3", Fields(("delta", -3L)));
        bulk.Set("users/u1", Fields(("plan", "pro")));

        var results = await bulk.WriteAsync();

        results.Select(r => r.Error).ShouldBe([null, FirestoreErrorKind.AlreadyExists, null, null]);
        results[1].Succeeded.ShouldBeFalse();
        results[1].Message.ShouldNotBeNullOrEmpty();
        results.Where(r => r.Succeeded).ShouldAllBe(r => r.UpdateTime != null);
        (await Firestore.GetAsync("ledger/evt1"))!.Fields["delta"].IntegerValue.ShouldBe(-1);
        (await Firestore.GetAsync("ledger/evt2"))!.Fields["delta"].IntegerValue.ShouldBe(-2, "the existing document is untouched");
        (await Firestore.GetAsync("ledger/evt3"))!.Fields["delta"].IntegerValue.ShouldBe(-3);
        (await Firestore.GetAsync("users/u1"))!.Fields["plan"].StringValue.ShouldBe("pro");
    }

    [Fact]
    public async Task BulkWriteOfNothingSendsNoRequestAndMoreThanFiveHundredWritesAreRefused()
    {
        (await Firestore.BulkWriter().WriteAsync()).ShouldBeEmpty();
        var bulk = Firestore.BulkWriter();
        for (var i = 0; i <= FirestoreBulkWriter.MaxWrites; i++)
        {
            bulk.Create($"ledger/e{i}", Fields(("delta", -1L)));
        }

        await Should.ThrowAsync<InvalidOperationException>(() => bulk.WriteAsync());
    }

    [Fact]
    public async Task IncrementAndServerTimestampTransformsApplyAndReportResults()
    {
        await Firestore.CreateAsync("users/u1", Fields(("credits", 100L), ("spent", 1.5)));
        var before = DateTimeOffset.UtcNow.AddSeconds(-5);
        var batch = Firestore.Batch();
        batch.Transform(
            "users/u1",
            [
                FirestoreFieldTransform.Increment("credits", -25L),
                FirestoreFieldTransform.Increment("spent", 0.25),
                FirestoreFieldTransform.Increment("fresh", 7L),
                FirestoreFieldTransform.ServerTimestamp("updated_at"),
            ],
            FirestorePrecondition.MustExist);

        var result = await batch.CommitAsync();

        result.WriteResults[0].TransformResults.Select(v => v.Kind).ShouldBe(
            [FirestoreValueKind.Integer, FirestoreValueKind.Double, FirestoreValueKind.Integer, FirestoreValueKind.Timestamp]);
        result.WriteResults[0].TransformResults[0].IntegerValue.ShouldBe(75);
        var user = (await Firestore.GetAsync("users/u1"))!;
        user.Fields["credits"].IntegerValue.ShouldBe(75);
        user.Fields["spent"].DoubleValue.ShouldBe(1.75);
        user.Fields["fresh"].IntegerValue.ShouldBe(7);
        user.Fields["updated_at"].TimestampValue.ShouldBeInRange(before, DateTimeOffset.UtcNow.AddSeconds(5));
    }

    [Fact]
    public async Task UpdateWithTransformsWritesFieldsAndTransformsAtomically()
    {
        await Firestore.CreateAsync("users/u1", Fields(("credits", 10L), ("tags", FirestoreValue.FromArray("a"))));
        var batch = Firestore.Batch();
        batch.Update(
            "users/u1",
            Fields(("plan", "pro")),
            transforms:
            [
                FirestoreFieldTransform.Increment("credits", 5L),
                FirestoreFieldTransform.AppendMissingElements("tags", "a", "b"),
                FirestoreFieldTransform.Maximum("high_water", 3L),
            ]);

        await batch.CommitAsync();

        var user = (await Firestore.GetAsync("users/u1"))!;
        user.Fields["plan"].StringValue.ShouldBe("pro");
        user.Fields["credits"].IntegerValue.ShouldBe(15);
        user.Fields["tags"].ArrayValue.Select(v => v.StringValue).ShouldBe(["a", "b"]);
        user.Fields["high_water"].IntegerValue.ShouldBe(3);
    }

    [Fact]
    public async Task IdempotentLedgerWriteAppliesOnlyOnce()
    {
        await Firestore.CreateAsync("users/u1", Fields(("credits", 100L)));

        async Task ChargeAsync()
        {
            var batch = Firestore.Batch();
            batch.Create("ledger/hold-1", Fields(("delta", -25L)));
            batch.Transform("users/u1", [FirestoreFieldTransform.Increment("credits", -25L)], FirestorePrecondition.MustExist);
            await batch.CommitAsync();
        }

        await ChargeAsync();
        var replay = await Should.ThrowAsync<FirestoreException>(ChargeAsync);

        replay.Kind.ShouldBe(FirestoreErrorKind.AlreadyExists);
        (await Firestore.GetAsync("users/u1"))!.Fields["credits"].IntegerValue.ShouldBe(75);
    }
}
