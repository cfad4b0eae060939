using Pipeline.Boxes;
using Pipeline.Processing;

namespace Pipeline.Jobs;

/// <summary>
/// A committed partition's box-size histogram as a <see cref="BoxSizeHistogramSet"/> under its (split, super-class): the
/// one form in which the coordinator's running figures and the merge add commits up (<see cref="BoxSizeHistogramSet.MergeFrom"/>).
/// </summary>
public static class PartitionHistograms
{
    /// <exception cref="ArgumentException">the histogram's parts disagree (see <see cref="Problem"/>).</exception>
    public static BoxSizeHistogramSet Of(PartitionInfo partition, BoxHistogramData histogram) =>
        new([new BoxSizeHistogramEntry(partition.Split, partition.Supercategory, ToHistogram(histogram))]);

    /// <summary>The sum of every commit's histogram, keyed by its partition's (split, super-class).</summary>
    public static BoxSizeHistogramSet Sum(IEnumerable<(PartitionInfo Partition, BoxHistogramData Histogram)> commits)
    {
        var sum = new BoxSizeHistogramSet();
        foreach (var (partition, histogram) in commits) sum.MergeFrom(Of(partition, histogram));
        return sum;
    }

    /// <summary>Null when a commit's histogram is well formed (50 bins that add up to its count, 0 ≤ min ≤ max ≤ 1); else what is wrong.</summary>
    public static string? Problem(BoxHistogramData histogram)
    {
        try
        {
            ToHistogram(histogram);
            return null;
        }
        catch (ArgumentException e)
        {
            return $"box size histogram: {e.Message}";
        }
    }

    private static BoxSizeHistogram ToHistogram(BoxHistogramData h) =>
        new(h.Counts ?? throw new ArgumentException("the bin counts are missing"), h.Count, h.SumNanos, h.Min, h.Max);
}
