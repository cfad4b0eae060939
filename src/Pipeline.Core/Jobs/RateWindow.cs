namespace Pipeline.Jobs;

/// <summary>
/// Images per second over a sliding window of samples (a running total and when it was seen), so progress rates and
/// ETAs follow the current pace rather than the whole job's average.
/// </summary>
public sealed class RateWindow(TimeSpan window)
{
    private readonly Queue<(DateTimeOffset At, long Total)> _samples = new();

    /// <summary>Records <paramref name="total"/> at <paramref name="now"/> and returns the rate across the window.</summary>
    public double Sample(DateTimeOffset now, long total)
    {
        _samples.Enqueue((now, total));
        while (_samples.Count > 1 && now - _samples.Peek().At > window) _samples.Dequeue();
        var first = _samples.Peek();
        var span = (now - first.At).TotalSeconds;
        return span > 0.5 ? Math.Max(0, total - first.Total) / span : 0;
    }

    public void Clear() => _samples.Clear();
}
