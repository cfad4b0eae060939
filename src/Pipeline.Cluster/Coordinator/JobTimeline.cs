using Pipeline.Cluster.Protocol;

namespace Pipeline.Cluster.Coordinator;

/// <summary>
/// A job run's event log and throughput series, kept by the coordinator so that the API (and a reloaded dashboard) shows
/// the whole run with each event's true time. Both are bounded: the log keeps its first <see cref="KeepFirst"/> events and
/// the latest ones up to <see cref="MaxEvents"/>; the series takes a sample every <see cref="SampleEvery"/> at most and,
/// past <see cref="MaxSamples"/>, merges neighbours in pairs (so a long job keeps its whole shape at a coarser step).
/// </summary>
public sealed class JobTimeline
{
    public const int MaxEvents = 200;
    public const int KeepFirst = 20;
    public const int MaxSamples = 240;
    public static readonly TimeSpan SampleEvery = TimeSpan.FromSeconds(2);

    private readonly List<JobEvent> _events = [];
    private readonly List<ThroughputSample> _samples = [];
    private DateTimeOffset? _lastAt;
    private long _lastImages;
    private TimeSpan _step = SampleEvery;

    /// <summary>Events left out of the middle of the log to keep it bounded.</summary>
    public int EventsDropped { get; private set; }

    public void Note(DateTimeOffset at, string kind, string text)
    {
        _events.Add(new JobEvent(at, kind, text));
        if (_events.Count <= MaxEvents) return;
        _events.RemoveAt(KeepFirst);
        EventsDropped++;
    }

    /// <summary>Starts the series at the run's start (before any image).</summary>
    public void StartSeries(DateTimeOffset at, long imagesDone)
    {
        _lastAt ??= at;
        _lastImages = imagesDone;
    }

    /// <summary>Adds a sample when <see cref="SampleEvery"/> (or the current, coarser step) has passed since the last one.</summary>
    public void Sample(DateTimeOffset now, long imagesDone)
    {
        if (_lastAt is not { } last) { StartSeries(now, imagesDone); return; }
        if (now - last >= _step) Add(now, last, imagesDone);
    }

    /// <summary>The last sample, whatever the step: the run's images are all done (its end would otherwise be lost).</summary>
    public void LastSample(DateTimeOffset now, long imagesDone)
    {
        if (_lastAt is { } last && now - last >= TimeSpan.FromMilliseconds(100)) Add(now, last, imagesDone);
    }

    private void Add(DateTimeOffset now, DateTimeOffset last, long imagesDone)
    {
        var seconds = (now - last).TotalSeconds;
        _samples.Add(new ThroughputSample(now, Math.Max(0, imagesDone - _lastImages) / seconds, seconds));
        _lastAt = now;
        _lastImages = imagesDone;
        if (_samples.Count > MaxSamples) Decimate();
    }

    public JobEvent[] Events => _events.ToArray();
    public ThroughputSample[] Series => _samples.ToArray();

    // neighbours merged in pairs: the pair's images over the pair's seconds, at the later one's time
    private void Decimate()
    {
        var merged = new List<ThroughputSample>(_samples.Count / 2 + 1);
        for (var i = 0; i + 1 < _samples.Count; i += 2)
        {
            var (a, b) = (_samples[i], _samples[i + 1]);
            var seconds = a.Seconds + b.Seconds;
            merged.Add(new ThroughputSample(b.At, (a.ImagesPerSecond * a.Seconds + b.ImagesPerSecond * b.Seconds) / seconds, seconds));
        }
        if (_samples.Count % 2 == 1) merged.Add(_samples[^1]);
        _samples.Clear();
        _samples.AddRange(merged);
        _step += _step;
    }
}
