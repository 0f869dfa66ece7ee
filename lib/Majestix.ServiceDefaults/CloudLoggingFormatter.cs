using System.Buffers;
using System.Diagnostics;
using System.Text.Encodings.Web;
using System.Text.Json;
using Serilog.Events;
using Serilog.Formatting;
using Serilog.Formatting.Display;

namespace Majestix.ServiceDefaults;

/// <summary>
/// Writes one JSON object per line in the shape Cloud Logging's agent parses from Cloud Run stdout:
/// <c>severity</c>, <c>message</c>, <c>time</c> and the trace correlation fields.
/// </summary>
public sealed class CloudLoggingFormatter(string? traceProjectId) : ITextFormatter
{
    public const string TraceField = "logging.googleapis.com/trace";
    public const string SpanField = "logging.googleapis.com/spanId";
    public const string SampledField = "logging.googleapis.com/trace_sampled";

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // Log lines are read by machines, not browsers: keep non-ASCII and '+' readable.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = false,
    };

    private readonly string? _tracePrefix = string.IsNullOrWhiteSpace(traceProjectId) ? null : $"projects/{traceProjectId}/traces/";

    // A request writes at least one line: the buffers are kept per thread instead of allocated per line.
    [ThreadStatic]
    private static LineBuffers? t_buffers;

    public void Format(LogEvent logEvent, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(logEvent);
        ArgumentNullException.ThrowIfNull(output);
        WriteLine(logEvent).EndLine(output);
    }

    /// <summary>The line as UTF-8, newline included: what stdout receives, without a detour through chars.</summary>
    public byte[] FormatUtf8(LogEvent logEvent)
    {
        ArgumentNullException.ThrowIfNull(logEvent);
        return WriteLine(logEvent).EndLineUtf8();
    }

    private LineBuffers WriteLine(LogEvent logEvent)
    {
        var buffers = t_buffers ??= new LineBuffers();
        var writer = buffers.StartLine();
        writer.WriteStartObject();
        writer.WriteString("severity", Severity(logEvent.Level));
        writer.WriteString("message", buffers.RenderMessage(logEvent));
        Span<char> time = stackalloc char[32];
        logEvent.Timestamp.UtcDateTime.TryFormat(time, out var timeLength, "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        writer.WriteString("time", time[..timeLength]);

        WriteTrace(writer, logEvent);

        foreach (var (name, value) in logEvent.Properties)
        {
            // RequestId/ConnectionId come from Kestrel's scope and are superseded by request_id.
            if (name is "TraceId" or "SpanId" or "RequestId" or "ConnectionId")
            {
                continue;
            }
            writer.WritePropertyName(name);
            WriteValue(writer, value);
        }

        if (logEvent.Exception is { } exception)
        {
            // Type and message only: stack traces and inner payloads can carry secrets and PII.
            writer.WriteStartObject("error");
            writer.WriteString("type", exception.GetType().FullName);
            writer.WriteString("message", exception.Message);
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
        return buffers;
    }

    private static readonly MessageTemplateTextFormatter MessageFormatter = new("{Message:lj}", System.Globalization.CultureInfo.InvariantCulture);

    // Kept for the life of its thread; it holds memory only, nothing to release.
#pragma warning disable CA1001
    private sealed class LineBuffers
#pragma warning restore CA1001
    {
        // A rare huge line must not pin its buffers to the thread for good.
        private const int KeptCapacity = 64 * 1024;
        private readonly StringWriter _message = new(System.Globalization.CultureInfo.InvariantCulture);
        private ArrayBufferWriter<byte> _bytes = new(1024);
        private char[] _chars = new char[1024];
        private Utf8JsonWriter? _writer;

        public Utf8JsonWriter StartLine()
        {
            _bytes.ResetWrittenCount();
            if (_writer is null)
            {
                _writer = new Utf8JsonWriter(_bytes, WriterOptions);
            }
            else
            {
                _writer.Reset(_bytes);
            }
            return _writer;
        }

        public string RenderMessage(LogEvent logEvent)
        {
            var text = _message.GetStringBuilder().Clear();
            MessageFormatter.Format(logEvent, _message);
            var rendered = text.ToString();
            if (text.Capacity > KeptCapacity)
            {
                text.Clear().Capacity = 256;
            }
            return rendered;
        }

        public byte[] EndLineUtf8()
        {
            _writer!.Flush();
            var line = new byte[_bytes.WrittenCount + 1];
            _bytes.WrittenSpan.CopyTo(line);
            line[^1] = (byte)'\n';
            ReleaseIfLarge();
            return line;
        }

        public void EndLine(TextWriter output)
        {
            _writer!.Flush();
            var utf8 = _bytes.WrittenSpan;
            var needed = System.Text.Encoding.UTF8.GetMaxCharCount(utf8.Length) + 1;
            if (_chars.Length < needed)
            {
                _chars = new char[Math.Max(needed, _chars.Length * 2)];
            }
            var length = System.Text.Encoding.UTF8.GetChars(utf8, _chars);
            _chars[length] = '\n';
            output.Write(_chars, 0, length + 1);
            ReleaseIfLarge();
        }

        private void ReleaseIfLarge()
        {
            if (_bytes.Capacity > KeptCapacity)
            {
                _bytes = new ArrayBufferWriter<byte>(1024);
                _writer = null;
                _chars = new char[1024];
            }
        }
    }

    private void WriteTrace(Utf8JsonWriter writer, LogEvent logEvent)
    {
        var traceId = logEvent.TraceId?.ToHexString();
        var spanId = logEvent.SpanId?.ToHexString();
        var sampled = false;
        if (traceId is null && Activity.Current is { } activity)
        {
            traceId = activity.TraceId.ToHexString();
            spanId = activity.SpanId.ToHexString();
            sampled = activity.Recorded;
        }
        else if (Activity.Current is { } current && current.TraceId.ToHexString() == traceId)
        {
            sampled = current.Recorded;
        }

        if (traceId is null)
        {
            return;
        }
        writer.WriteString(TraceField, _tracePrefix is null ? traceId : _tracePrefix + traceId);
        if (spanId is not null)
        {
            writer.WriteString(SpanField, spanId);
        }
        writer.WriteBoolean(SampledField, sampled);
    }

    internal static string Severity(LogEventLevel level) => level switch
    {
        LogEventLevel.Verbose or LogEventLevel.Debug => "DEBUG",
        LogEventLevel.Information => "INFO",
        LogEventLevel.Warning => "WARNING",
        LogEventLevel.Error => "ERROR",
        LogEventLevel.Fatal => "CRITICAL",
        _ => "DEFAULT",
    };

    private static void WriteValue(Utf8JsonWriter writer, LogEventPropertyValue value)
    {
        switch (value)
        {
            case ScalarValue { Value: null }:
                writer.WriteNullValue();
                break;
            case ScalarValue { Value: bool b }:
                writer.WriteBooleanValue(b);
                break;
            case ScalarValue { Value: int or long or short or byte or uint or ushort or sbyte } s:
                writer.WriteNumberValue(Convert.ToInt64(s.Value, System.Globalization.CultureInfo.InvariantCulture));
                break;
            case ScalarValue { Value: ulong u }:
                writer.WriteNumberValue(u);
                break;
            case ScalarValue { Value: double d } when double.IsFinite(d):
                writer.WriteNumberValue(d);
                break;
            case ScalarValue { Value: float f } when float.IsFinite(f):
                writer.WriteNumberValue(f);
                break;
            case ScalarValue { Value: decimal m }:
                writer.WriteNumberValue(m);
                break;
            case ScalarValue { Value: DateTimeOffset dto }:
                writer.WriteStringValue(dto.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
                break;
            case ScalarValue { Value: DateTime dt }:
                writer.WriteStringValue(dt.ToUniversalTime().ToString("O", System.Globalization.CultureInfo.InvariantCulture));
                break;
            case ScalarValue s:
                writer.WriteStringValue(Convert.ToString(s.Value, System.Globalization.CultureInfo.InvariantCulture));
                break;
            case SequenceValue seq:
                writer.WriteStartArray();
                foreach (var element in seq.Elements)
                {
                    WriteValue(writer, element);
                }
                writer.WriteEndArray();
                break;
            case StructureValue structure:
                writer.WriteStartObject();
                foreach (var property in structure.Properties)
                {
                    writer.WritePropertyName(property.Name);
                    WriteValue(writer, property.Value);
                }
                writer.WriteEndObject();
                break;
            case DictionaryValue dictionary:
                writer.WriteStartObject();
                foreach (var (key, element) in dictionary.Elements)
                {
                    writer.WritePropertyName(Convert.ToString(key.Value, System.Globalization.CultureInfo.InvariantCulture) ?? "");
                    WriteValue(writer, element);
                }
                writer.WriteEndObject();
                break;
            default:
                writer.WriteStringValue(value.ToString());
                break;
        }
    }
}
