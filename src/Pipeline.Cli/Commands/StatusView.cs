using System.Globalization;
using Pipeline.Cluster.Protocol;
using Spectre.Console;

namespace Pipeline.Cli.Commands;

/// <summary>Renders a job's progress for people: one live line on a terminal, a line every few seconds in a log.</summary>
public sealed class StatusView
{
    private readonly bool _interactive = !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
    private DateTimeOffset _lastLogged = DateTimeOffset.MinValue;
    private DateTimeOffset _lastPainted = DateTimeOffset.MinValue;
    private int _lastWidth;

    public static string Line(JobStatus s)
    {
        var inv = CultureInfo.InvariantCulture;
        var eta = s.EtaSeconds is { } e ? FormatDuration(e) : "--:--";
        var quarantined = s.Quarantined > 0 ? string.Format(inv, " · {0:N0} quarantined", s.Quarantined) : "";
        return string.Format(inv, "{0,-9} {1}/{2} partitions · {3:N0}/{4:N0} images · {5:N0} img/s · ETA {6} · {7} elapsed{8}",
            JobStates.Name(s.State), s.Committed, s.Partitions, s.ImagesDone, s.Images, s.ImagesPerSecond, eta, FormatDuration(s.ElapsedSeconds), quarantined)
            + (s.Waiting is null ? "" : " · " + s.Waiting);
    }

    public static string FormatDuration(double seconds)
    {
        if (double.IsNaN(seconds) || double.IsInfinity(seconds) || seconds < 0) return "--:--";
        var t = TimeSpan.FromSeconds(Math.Round(seconds));
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours}:{t.Minutes:D2}:{t.Seconds:D2}" : $"{t.Minutes}:{t.Seconds:D2}";
    }

    public void Update(JobStatus status)
    {
        var now = DateTimeOffset.UtcNow;
        if (_interactive)
        {
            // the status is polled often so that the end of a job is seen at once; a terminal is repainted 4 times a second
            if (now - _lastPainted < TimeSpan.FromMilliseconds(250) && !status.IsFinished) return;
            _lastPainted = now;
            var line = Line(status);
            var padded = line.PadRight(_lastWidth);
            _lastWidth = line.Length;
            Console.Write("\r" + padded);
            return;
        }
        if (now - _lastLogged < TimeSpan.FromSeconds(5) && !status.IsFinished) return;
        _lastLogged = now;
        Console.WriteLine(Line(status));
    }

    public void Finish()
    {
        if (_interactive) Console.WriteLine();
    }
}
