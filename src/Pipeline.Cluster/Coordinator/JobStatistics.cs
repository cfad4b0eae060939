using Pipeline.Boxes;
using Pipeline.Cluster.Protocol;
using Pipeline.Jobs;

namespace Pipeline.Cluster.Coordinator;

/// <summary>
/// A job run's running figures from its recorded commits: the box-size histogram per (split, super-class), quarantined
/// images by kind, failures in a row per partition, and images/s over the last 30 s (so the ETA follows the current pace).
/// </summary>
public sealed class JobStatistics
{
    private readonly BoxSizeHistogramSet _histograms = new();
    private readonly Dictionary<string, int> _quarantineByKind = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _failures = new(StringComparer.Ordinal);
    private readonly RateWindow _rateWindow = new(TimeSpan.FromSeconds(30));

    public void Add(PartitionInfo info, PartitionOutcome outcome)
    {
        _failures.Remove(outcome.PartitionId);
        _histograms.MergeFrom(PartitionHistograms.Of(info, outcome.Histogram));
        foreach (var (kind, count) in outcome.QuarantineByKind)
            _quarantineByKind[kind] = _quarantineByKind.GetValueOrDefault(kind) + count;
    }

    /// <summary>Counts a failed attempt of a partition; returns its failures in a row.</summary>
    public int Failed(string partitionId) => _failures[partitionId] = _failures.GetValueOrDefault(partitionId) + 1;

    /// <summary>Images/s over the window, given the images done now.</summary>
    public double Rate(DateTimeOffset now, long imagesDone) => _rateWindow.Sample(now, imagesDone);

    public Dictionary<string, int> QuarantineByKind => new(_quarantineByKind);

    /// <summary>The box-size histograms of the recorded commits so far, merged per (split, super-class).</summary>
    public BoxHistogramSummary[] Histograms() =>
        _histograms.Entries.Select(e => new BoxHistogramSummary(e.Split, e.Supercategory, e.Histogram.Counts, e.Histogram.Count)).ToArray();
}
