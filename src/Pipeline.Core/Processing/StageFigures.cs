using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Pipeline.Processing;

/// <summary>
/// One stage of the node pipeline since it started: its threads, the seconds they spent working (summed over threads),
/// the images it finished, and how many wait in its input queue now. <see cref="Utilisation"/> is busy time over
/// wall time × threads; <see cref="CapacityPerSecond"/> is what the stage would do with its threads always busy.
/// </summary>
public sealed record StageFigure(string Stage, int Threads, double BusySeconds, long Images, int QueueDepth, double WallSeconds)
{
    public double ImagesPerSecond => WallSeconds > 0 ? Images / WallSeconds : 0;

    public double Utilisation => WallSeconds > 0 && Threads > 0 ? Math.Min(1, BusySeconds / (WallSeconds * Threads)) : 0;

    public double CapacityPerSecond => BusySeconds > 0 ? Images * Threads / BusySeconds : 0;
}

/// <summary>
/// The node pipeline's stages (read, decode, embed, write) and the bottleneck: the stage busiest for its threads.
/// Travels in worker heartbeats (plain JSON) and is printed by `pipeline run` and `pipeline bench partitions`.
/// </summary>
public sealed record StageFigures(StageFigure[] Stages)
{
    public const string Read = "read", Decode = "decode", Embed = "embed", Write = "write";

    /// <summary>The stage with the highest utilisation (ties: the later stage), or null before any image.</summary>
    public string? Bottleneck
    {
        get
        {
            StageFigure? best = null;
            foreach (var stage in Stages)
                if (stage.Images > 0 && (best is null || stage.Utilisation >= best.Utilisation)) best = stage;
            return best?.Stage;
        }
    }

    /// <summary>One line per stage and the bottleneck, for a terminal.</summary>
    public string Describe()
    {
        var inv = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        foreach (var s in Stages)
            text.AppendLine(string.Format(inv, "  {0,-7} {1,3} thread(s)  busy {2,5:P0}  {3,9:N0} images  {4,7:N0}/s  capacity {5,7:N0}/s  queue {6,5:N0}",
                s.Stage, s.Threads, s.Utilisation, s.Images, s.ImagesPerSecond, s.CapacityPerSecond, s.QueueDepth));
        text.Append("  bottleneck: ").Append(Bottleneck ?? "none yet");
        return text.ToString();
    }
}

/// <summary>Thread-safe busy-time and image counters of one stage; threads add what they did after each image or batch.</summary>
internal sealed class StageMeter(string stage, int threads)
{
    private long _busyTicks;
    private long _images;

    public string Stage { get; } = stage;

    public int Threads { get; set; } = threads;

    public void Add(long startTimestamp, int images = 1)
    {
        Interlocked.Add(ref _busyTicks, Stopwatch.GetTimestamp() - startTimestamp);
        Interlocked.Add(ref _images, images);
    }

    public StageFigure Snapshot(int queueDepth, double wallSeconds) =>
        new(Stage, Threads, Interlocked.Read(ref _busyTicks) / (double)Stopwatch.Frequency, Interlocked.Read(ref _images), queueDepth, wallSeconds);
}
