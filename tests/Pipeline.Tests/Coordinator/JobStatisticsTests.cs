using FsCheck.Xunit;
using Pipeline.Boxes;
using Pipeline.Cluster.Coordinator;
using Pipeline.Jobs;
using Pipeline.Processing;
using Pipeline.Storage;

namespace Pipeline.Tests.Coordinator;

/// <summary>The coordinator's running histograms and the merge's add commits up the same way: through BoxSizeHistogramSet.</summary>
public sealed class JobStatisticsTests
{
    private static readonly PartitionInfo[] Partitions =
    [
        new("train-Aves-0", "train", "Aves", 10, 10), new("train-Aves-1", "train", "Aves", 10, 10),
        new("val-Aves-0", "val", "Aves", 10, 10), new("train-Insecta-0", "train", "Insecta", 10, 10),
    ];

    private static BoxSizeHistogram Histogram(uint[]? raw)
    {
        var histogram = new BoxSizeHistogram();
        foreach (var value in raw ?? []) histogram.Add(value % 3 == 0 ? (value % 51) / 50.0 : value / (double)uint.MaxValue);
        return histogram;
    }

    private static PartitionOutcome Outcome(PartitionInfo partition, BoxSizeHistogram h) =>
        new(new PartCommit(partition.Id, 1, "r", "e", h.Count, 0, 1, 1, "", ""), "w",
            new BoxHistogramData(h.Counts, h.Count, h.SumNanos, h.Min, h.Max), [], [], 0, 1);

    [Property(MaxTest = 50)]
    public void Running_histograms_equal_the_set_merge_of_the_commits(uint[] a, uint[] b, uint[] c, uint[] d)
    {
        var parts = new[] { Histogram(a), Histogram(b), Histogram(c), Histogram(d) };
        var statistics = new JobStatistics();
        var expected = new BoxSizeHistogramSet();
        for (var i = 0; i < Partitions.Length; i++)
        {
            statistics.Add(Partitions[i], Outcome(Partitions[i], parts[i]));
            var one = new BoxSizeHistogramSet();
            one.For(Partitions[i].Split, Partitions[i].Supercategory).MergeFrom(parts[i]);
            expected = BoxSizeHistogramSet.Merge(expected, one);
        }

        var summaries = statistics.Histograms();
        Assert.Equal(expected.Entries.Select(e => (e.Split, e.Supercategory)), summaries.Select(s => (s.Split, s.Supercategory)));
        foreach (var summary in summaries)
        {
            var merged = expected.Find(summary.Split, summary.Supercategory)!;
            Assert.Equal(merged.Counts, summary.Counts);
            Assert.Equal(merged.Count, summary.Boxes);
        }
        // the merge's sum of the same commits is the same set
        Assert.Equal(expected, PartitionHistograms.Sum(Partitions.Select((p, i) => (p, Outcome(p, parts[i]).Histogram))));
    }

    [Fact]
    public void A_commit_whose_histogram_does_not_add_up_is_rejected_before_it_is_recorded()
    {
        var malformed = new BoxHistogramData(new long[50], 3, 0, 0, 0);
        var outcome = Outcome(Partitions[0], new BoxSizeHistogram()) with { Histogram = malformed };

        var problem = CommitRecorder.CheckPart(Path.GetTempPath(), outcome);

        Assert.NotNull(problem);
        Assert.Contains("bin counts add up to 0 but count is 3", problem);
        Assert.Contains("bins, not 3", PartitionHistograms.Problem(new BoxHistogramData([1, 1, 1], 3, 0, 0, 0)));
        Assert.Null(PartitionHistograms.Problem(Outcome(Partitions[0], Histogram([1, 2, 3])).Histogram));
    }
}
