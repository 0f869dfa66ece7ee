using Majestix.GoogleCloud.PubSub;
using Microsoft.Extensions.Time.Testing;

namespace Majestix.GoogleCloud.Tests;

public sealed class RefusalLogTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);
    private readonly FakeTimeProvider _time = new();
    private readonly List<RefusalLog.Entry> _written = [];

    private RefusalLog NewLog() => new(Interval, _time, _written.Add);

    [Fact]
    public void TheFirstRefusalIsWrittenAtOnceAndTheRestOfTheIntervalSummedPerTopicAndReason()
    {
        using var log = NewLog();

        for (var i = 0; i < 5; i++)
        {
            log.Add("usage", PubSubDropReason.BufferFull);
        }
        log.Add("audit", PubSubDropReason.BufferFull);
        log.Add("audit", PubSubDropReason.PublisherStopped);

        _written.ShouldBe([new RefusalLog.Entry("usage", PubSubDropReason.BufferFull, 1, TimeSpan.Zero)]);
        _time.Advance(Interval);
        _written.Skip(1).OrderBy(e => e.TopicId).ThenBy(e => e.Reason).ShouldBe(
        [
            new RefusalLog.Entry("audit", PubSubDropReason.BufferFull, 1, Interval),
            new RefusalLog.Entry("audit", PubSubDropReason.PublisherStopped, 1, Interval),
            new RefusalLog.Entry("usage", PubSubDropReason.BufferFull, 4, Interval),
        ]);
    }

    [Fact]
    public void RefusalsThatGoOnAreWrittenOncePerInterval()
    {
        using var log = NewLog();

        log.Add("usage", PubSubDropReason.BufferFull);
        for (var interval = 0; interval < 3; interval++)
        {
            for (var i = 0; i < 100; i++)
            {
                log.Add("usage", PubSubDropReason.BufferFull);
            }
            _time.Advance(Interval);
        }

        _written.Select(e => e.Count).ShouldBe([1, 100, 100, 100]);
        _written.Sum(e => e.Count).ShouldBe(301);
    }

    [Fact]
    public void AfterAnIntervalWithoutRefusalsTheNextOneIsWrittenAtOnce()
    {
        using var log = NewLog();

        log.Add("usage", PubSubDropReason.BufferFull);
        _time.Advance(Interval);
        _time.Advance(Interval);
        log.Add("usage", PubSubDropReason.BufferFull);

        _written.ShouldBe(
        [
            new RefusalLog.Entry("usage", PubSubDropReason.BufferFull, 1, TimeSpan.Zero),
            new RefusalLog.Entry("usage", PubSubDropReason.BufferFull, 1, TimeSpan.Zero),
        ]);
    }

    [Fact]
    public void ClosingWritesWhatWasCountedAndLaterRefusalsOneByOne()
    {
        var log = NewLog();
        log.Add("usage", PubSubDropReason.BufferFull);
        log.Add("usage", PubSubDropReason.BufferFull);
        log.Add("usage", PubSubDropReason.BufferFull);
        _time.Advance(TimeSpan.FromSeconds(4));

        log.Dispose();
        log.Add("usage", PubSubDropReason.PublisherStopped);
        log.Add("usage", PubSubDropReason.PublisherStopped);
        _time.Advance(Interval);

        _written.ShouldBe(
        [
            new RefusalLog.Entry("usage", PubSubDropReason.BufferFull, 1, TimeSpan.Zero),
            new RefusalLog.Entry("usage", PubSubDropReason.BufferFull, 2, TimeSpan.FromSeconds(4)),
            new RefusalLog.Entry("usage", PubSubDropReason.PublisherStopped, 1, TimeSpan.Zero),
            new RefusalLog.Entry("usage", PubSubDropReason.PublisherStopped, 1, TimeSpan.Zero),
        ]);
    }
}
