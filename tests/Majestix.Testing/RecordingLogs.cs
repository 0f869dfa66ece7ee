using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Majestix.Testing;

/// <summary>
/// Keeps every log line written through it, with its level, category and rendered message: add it as a
/// provider to a service collection's logging, or hand <see cref="For{T}"/> to a class that takes a logger.
/// Structured properties (a message template's named values, <c>{OriginalFormat}</c> excepted) are kept too.
/// </summary>
public sealed class RecordingLogs : ILoggerProvider
{
    public ConcurrentQueue<(LogLevel Level, string Category, string Message, IReadOnlyDictionary<string, object?> Properties, Exception? Exception)> Lines { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Recorder<object>(this, categoryName);

    public ILogger<T> For<T>() => new Recorder<T>(this, typeof(T).FullName ?? typeof(T).Name);

    public void Dispose()
    {
    }

    private sealed class Recorder<T>(RecordingLogs logs, string category) : ILogger<T>
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            logs.Lines.Enqueue((logLevel, category, formatter(state, exception), PropertiesOf(state), exception));

        private static Dictionary<string, object?> PropertiesOf<TState>(TState state)
        {
            var properties = new Dictionary<string, object?>();
            if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
            {
                foreach (var (name, value) in pairs.Where(pair => pair.Key != "{OriginalFormat}"))
                {
                    properties[name] = value;
                }
            }
            return properties;
        }
    }
}
