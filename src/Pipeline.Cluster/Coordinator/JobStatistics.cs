using Pipeline.Cluster.Protocol;
using Pipeline.Jobs;

namespace Pipeline.Cluster.Coordinator;

/// <summary>
/// A job run's running figures from its recorded commits: the box-size histogram per (split, super-class), quarantined
/// images by kind, failures in a row per partition, and images/s over the last 30 s (so the ETA follows the current pace).
/// </summary>
public sealed class JobStatistics
{
    private readonly Dictionary<(string Split, string Super), (long[] Counts, long Boxes)> _histograms = new();
    private readonly Dictionary<string, int> _quarantineByKind = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _failures = new(StringComparer.Ordinal);
    private readonly RateWindow _rateWindow = new(TimeSpan.FromSeconds(30));

    public void Add(PartitionInfo info, PartitionOutcome outcome)
    {
        _failures.Remove(outcome.PartitionId);
        var key = (info.Split, info.Supercategory);
        if (!_histograms.TryGetValue(key, out var h)) h = (new long[outcome.Histogram.Counts.Length], 0);
        if (h.Counts.Length == outcome.Histogram.Counts.Length)
        {
            for (var i = 0; i < h.Counts.Length; i++) h.Counts[i] += outcome.Histogram.Counts[i];
            _histograms[key] = (h.Counts, h.Boxes + outcome.Histogram.Count);
        }
        foreach (var (kind, count) in outcome.QuarantineByKind)
            _quarantineByKind[kind] = _quarantineByKind.GetValueOrDefault(kind) + count;
    }

    /// <summary>Counts a failed attempt of a partition; returns its failures in a row.</summary>
    public int Failed(string partitionId) => _failures[partitionId] = _failures.GetValueOrDefault(partitionId) + 1;

    /// <summary>Images/s over the window, given the images done now.</summary>
    public double Rate(DateTimeOffset now, long imagesDone) => _rateWindow.Sample(now, imagesDone);

    public Dictionary<string, int> QuarantineByKind => new(_quarantineByKind);

    public BoxHistogramSummary[] Histograms() =>
        _histograms.OrderBy(h => h.Key.Split, StringComparer.Ordinal).ThenBy(h => h.Key.Super, StringComparer.Ordinal)
            .Select(h => new BoxHistogramSummary(h.Key.Split, h.Key.Super, h.Value.Counts, h.Value.Boxes)).ToArray();
}
