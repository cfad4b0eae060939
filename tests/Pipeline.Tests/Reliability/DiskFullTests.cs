using Pipeline.Jobs;
using Xunit.Abstractions;
using static Pipeline.Tests.Cluster.ClusterTestSupport;

namespace Pipeline.Tests.Reliability;

/// <summary>
/// The output volume fills up, on a tmpfs sized so that either the parts overflow it (8 MB against several times that)
/// or the parts fit and the merged dataset does not (16 MB against twice 10 MB). The job must stop with a message that
/// names the full disk, leave no _SUCCESS and no temporary files, and, once the volume is grown, resume from the
/// partitions it had committed and finish with every image exactly once.
/// </summary>
[Trait("Category", "Faults")]
[Collection(ProcessFaultsCollection.Name)]
[Trait("Category", "Slow")]
public sealed class DiskFullTests(FaultCorpusFixture corpus, ITestOutputHelper output) : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("pipeline-diskfull-").FullName;
    private string Volume => Path.Combine(_work, "volume");
    private bool _mounted;

    public void Dispose()
    {
        if (_mounted) HostProbe.Run("umount", "-l", Volume);
        Directory.Delete(_work, recursive: true);
    }

    [HostTheory(HostFeature.Tmpfs)]
    [InlineData("parts", 8, 512, "failed 3 times; last error: No space left on device")]
    [InlineData("merge", 16, 256, "merge failed: No space left on device")]
    public async Task Full_output_disk_stops_the_job_clearly_and_a_rerun_with_space_resumes_and_completes(string fills, int megabytes, int storeShorter,
        string message)
    {
        Directory.CreateDirectory(Volume);
        var (code, text) = HostProbe.Run("mount", "-t", "tmpfs", "-o", $"size={megabytes}m", "tmpfs", Volume);
        Assert.True(code == 0, text);
        _mounted = true;
        // stored copies make the rows tens of KB each: 512 px parts need several times 8 MB, 256 px ones about 10 MB
        var spec = new JobSpec { Corpus = corpus.Root, Output = Path.Combine(Volume, "out"), Model = "none", PartitionSize = 16, StoreShorter = storeShorter };
        using var cluster = new FaultCluster(Path.Combine(_work, "job"), spec);

        var first = cluster.Coordinator(FreePort(), [], withWorker: true);
        var firstExit = await first.WaitForExitAsync(TimeSpan.FromMinutes(2));
        var committedBefore = FaultCluster.Committed(cluster.Journal());
        var plan = PartitionPlanner.TryLoad(cluster.Paths.PlanDir)!;
        output.WriteLine($"first run ({fills} overflow): exit {firstExit}, {committedBefore.Count}/{plan.Partitions.Length} partitions committed on {megabytes} MB");
        // the summary is wrapped to the console width: read it as one line
        var flat = System.Text.RegularExpressions.Regex.Replace(first.Output, @"\s+", " ");
        var at = flat.IndexOf(message, StringComparison.Ordinal);
        var summary = at < 0 ? "" : flat[Math.Max(0, at - 30)..Math.Min(flat.Length, at + 220)];
        var leftovers = Directory.EnumerateFiles(cluster.Paths.PartsDir, "*.tmp-*", SearchOption.AllDirectories).Count();
        output.WriteLine($"the job's last word: {summary.Trim()}");
        output.WriteLine($"temporary part files left behind: {leftovers}");

        Assert.Equal(1, firstExit);
        Assert.Contains(message, summary);
        Assert.Contains("rerun the same command to resume", flat);
        Assert.Equal(0, leftovers); // an abandoned attempt removes its temporary files, even on a full disk
        Assert.False(File.Exists(cluster.Paths.SuccessFile));
        if (fills == "parts") Assert.InRange(committedBefore.Count, 1, plan.Partitions.Length - 1);
        else Assert.Equal(plan.Partitions.Length, committedBefore.Count);
        Assert.Empty(Directory.GetDirectories(spec.Output, "dataset.tmp-*"));

        (code, text) = HostProbe.Run("mount", "-o", "remount,size=256m", Volume);
        Assert.True(code == 0, text);
        var assignsBefore = cluster.Journal().Count;
        var rerun = cluster.Coordinator(FreePort(), [], withWorker: true);
        var rerunExit = await rerun.WaitForExitAsync(TimeSpan.FromMinutes(2));

        Assert.True(rerunExit == 0, rerun.Tail());
        cluster.AssertExactlyOnce(corpus.Images);
        var redone = cluster.Journal().Skip(assignsBefore).Where(e => e.Kind == JournalEntry.Assign && committedBefore.Contains(e.PartitionId)).ToList();
        Assert.Empty(redone);
    }
}
