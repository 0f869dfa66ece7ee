using System.Diagnostics;
using System.Text.Json;
using Majestix.ServiceDefaults;
using Serilog.Events;
using Serilog.Parsing;

namespace Majestix.ServiceDefaults.Tests;

public sealed class CloudLoggingFormatterTests
{
    private static readonly MessageTemplateParser Parser = new();

    [Theory]
    [InlineData(LogEventLevel.Debug, "DEBUG")]
    [InlineData(LogEventLevel.Information, "INFO")]
    [InlineData(LogEventLevel.Warning, "WARNING")]
    [InlineData(LogEventLevel.Error, "ERROR")]
    [InlineData(LogEventLevel.Fatal, "CRITICAL")]
    public void SeverityUsesCloudLoggingNames(LogEventLevel level, string expected)
    {
        var line = Format(new CloudLoggingFormatter(null), Event(level, "hello"));

        line.GetProperty("severity").GetString().ShouldBe(expected);
    }

    [Fact]
    public void MessageIsRenderedWithoutQuotesAndPropertiesAreKept()
    {
        var logEvent = Event(LogEventLevel.Information, "{Method} {Path} took {Elapsed}",
            ("Method", new ScalarValue("GET")), ("Path", new ScalarValue("/chat")), ("Elapsed", new ScalarValue(12.5)));

        var line = Format(new CloudLoggingFormatter(null), logEvent);

        line.GetProperty("message").GetString().ShouldBe("GET /chat took 12.5");
        line.GetProperty("Elapsed").GetDouble().ShouldBe(12.5);
        line.GetProperty("Path").GetString().ShouldBe("/chat");
        DateTimeOffset.Parse(line.GetProperty("time").GetString()!, System.Globalization.CultureInfo.InvariantCulture)
            .ShouldBe(logEvent.Timestamp, TimeSpan.FromMilliseconds(1));
    }

    [Fact]
    public void ActiveTraceIsLinkedWithTheProjectPrefix()
    {
        using var activity = new Activity("request").SetIdFormat(ActivityIdFormat.W3C).Start();
        activity.ActivityTraceFlags = ActivityTraceFlags.Recorded;

        var line = Format(new CloudLoggingFormatter("inference-platform"), Event(LogEventLevel.Information, "traced"));

        line.GetProperty(CloudLoggingFormatter.TraceField).GetString()
            .ShouldBe($"projects/inference-platform/traces/{activity.TraceId.ToHexString()}");
        line.GetProperty(CloudLoggingFormatter.SpanField).GetString().ShouldBe(activity.SpanId.ToHexString());
        line.GetProperty(CloudLoggingFormatter.SampledField).GetBoolean().ShouldBeTrue();
    }

    [Fact]
    public void NoTraceFieldsWithoutAnActiveTrace()
    {
        Activity.Current = null;

        var line = Format(new CloudLoggingFormatter("inference-platform"), Event(LogEventLevel.Information, "untraced"));

        line.TryGetProperty(CloudLoggingFormatter.TraceField, out _).ShouldBeFalse();
    }

    [Fact]
    public void ExceptionsAreLoggedWithoutStackTraces()
    {
        Exception thrown;
        try
        {
            throw new InvalidOperationException("upstream refused");
        }
        catch (InvalidOperationException exception)
        {
            thrown = exception;
        }
        var logEvent = new LogEvent(DateTimeOffset.UtcNow, LogEventLevel.Error, thrown, Parser.Parse("failed"), []);

        var text = FormatText(new CloudLoggingFormatter(null), logEvent);
        var line = JsonDocument.Parse(text).RootElement;

        line.GetProperty("error").GetProperty("type").GetString().ShouldBe("System.InvalidOperationException");
        line.GetProperty("error").GetProperty("message").GetString().ShouldBe("upstream refused");
        text.ShouldNotContain("ExceptionsAreLoggedWithoutStackTraces");
    }

    [Fact]
    public void EachEventIsExactlyOneLine()
    {
        var text = FormatText(new CloudLoggingFormatter(null), Event(LogEventLevel.Information, "multi\nline {Value}", ("Value", new ScalarValue("a\nb"))));

        text.TrimEnd('\n').ShouldNotContain('\n');
        text.ShouldEndWith("\n");
    }

    [Fact]
    public void LinesFormattedOneAfterAnotherOnAThreadCarryNothingOver()
    {
        var formatter = new CloudLoggingFormatter(null);
        var huge = new string('x', 200_000) + " ünïcode";

        var first = FormatText(formatter, Event(LogEventLevel.Warning, huge));
        var second = FormatText(formatter, Event(LogEventLevel.Information, "short"));
        var third = FormatText(formatter, Event(LogEventLevel.Information, "ok"));

        first.ShouldEndWith("\n");
        JsonDocument.Parse(first).RootElement.GetProperty("message").GetString().ShouldBe(huge);
        second.Count(c => c == '\n').ShouldBe(1);
        JsonDocument.Parse(second).RootElement.GetProperty("message").GetString().ShouldBe("short");
        JsonDocument.Parse(third).RootElement.GetProperty("severity").GetString().ShouldBe("INFO");
        third.Length.ShouldBeLessThan(second.Length + 10);
    }

    [Fact]
    public void Utf8LineIsTheTextLineEncoded()
    {
        var logEvent = Event(LogEventLevel.Warning, "{User} paid {Amount} — «ok»", ("User", new ScalarValue("Zoë")), ("Amount", new ScalarValue(12.5m)));
        var formatter = new CloudLoggingFormatter("inference-platform");

        var utf8 = formatter.FormatUtf8(logEvent);

        System.Text.Encoding.UTF8.GetString(utf8).ShouldBe(FormatText(formatter, logEvent));
        utf8[^1].ShouldBe((byte)'\n');
    }

    private static LogEvent Event(LogEventLevel level, string template, params (string Name, LogEventPropertyValue Value)[] properties) =>
        new(DateTimeOffset.UtcNow, level, null, Parser.Parse(template), properties.Select(p => new LogEventProperty(p.Name, p.Value)));

    private static JsonElement Format(CloudLoggingFormatter formatter, LogEvent logEvent) =>
        JsonDocument.Parse(FormatText(formatter, logEvent)).RootElement;

    private static string FormatText(CloudLoggingFormatter formatter, LogEvent logEvent)
    {
        using var writer = new StringWriter();
        formatter.Format(logEvent, writer);
        return writer.ToString();
    }
}
