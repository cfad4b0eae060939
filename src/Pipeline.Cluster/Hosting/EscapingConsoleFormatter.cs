using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;

namespace Pipeline.Cluster.Hosting;

/// <summary>
/// One console line per log event: "HH:mm:ss level: category message". Control characters in the message (a request
/// path, a job's folder, a worker name: anything a user typed) are written as escapes (\n, \r, \t, \u001b), so no input can
/// forge a log line or drive the terminal. An exception follows as its type, escaped message and stack trace, indented.
/// </summary>
public sealed class EscapingConsoleFormatter() : ConsoleFormatter(FormatterName)
{
    public const string FormatterName = "pipeline";

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        var message = logEntry.Formatter?.Invoke(logEntry.State, logEntry.Exception);
        if (message is null && logEntry.Exception is null) return;
        var line = new StringBuilder(96 + (message?.Length ?? 0));
        line.Append(DateTime.Now.ToString("HH:mm:ss ")).Append(Level(logEntry.LogLevel)).Append(": ").Append(logEntry.Category).Append(' ');
        Escape(message ?? "", line);
        for (var e = logEntry.Exception; e is not null; e = e.InnerException)
        {
            line.Append('\n').Append("    ").Append(e.GetType().FullName).Append(": ");
            Escape(e.Message, line);
            // stack frames name code, not input; indented so they never pass for a log line of their own
            if (e.StackTrace is { } stack)
                foreach (var frame in stack.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    line.Append('\n').Append("      ");
                    Escape(frame, line);
                }
        }
        textWriter.Write(line.Append('\n').ToString());
    }

    /// <summary>Appends <paramref name="text"/> with every control character (C0, DEL, C1, line and paragraph separators) escaped.</summary>
    public static void Escape(string text, StringBuilder into)
    {
        foreach (var c in text)
        {
            switch (c)
            {
                case '\n': into.Append("\\n"); break;
                case '\r': into.Append("\\r"); break;
                case '\t': into.Append("\\t"); break;
                default:
                    if (char.IsControl(c) || c is '\u2028' or '\u2029' or '\u0085') into.Append("\\u").Append(((int)c).ToString("x4"));
                    else into.Append(c);
                    break;
            }
        }
    }

    public static string Escape(string text)
    {
        var builder = new StringBuilder(text.Length);
        Escape(text, builder);
        return builder.ToString();
    }

    private static string Level(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        LogLevel.Critical => "crit",
        _ => "none",
    };
}
