using System.Diagnostics;
using Pipeline.Jobs;
using Xunit.Abstractions;
using static Pipeline.Tests.Cluster.ClusterTestSupport;

namespace Pipeline.Tests.Reliability;

/// <summary>
/// The coordinator killed with SIGKILL while it merges, at three points of the merge: when its build folder
/// (dataset.tmp-*) appears, when the first file in it does, and when its manifest does (the last step before _SUCCESS
/// and the rename). What is left must never look complete (no _SUCCESS, or a complete dataset), and rerunning the same
/// job must merge from the recorded parts without redoing a partition.
/// </summary>
[Trait("Category", "Faults")]
[Collection(ProcessFaultsCollection.Name)]
[Trait("Category", "Slow")]
public sealed class MergeKillTests(FaultCorpusFixture corpus, ITestOutputHelper output) : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("pipeline-mergekill-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    /// <summary>True when the merge has reached <paramref name="point"/> in the build folder <paramref name="build"/>.</summary>
    private static bool Reached(string point, string build) => point switch
    {
        "build-folder" => true,
        "first-file" => Directory.EnumerateFiles(build, "*", SearchOption.AllDirectories).Any(),
        "manifest" => Directory.EnumerateFiles(build, "*_manifest.json*").Any(),
        _ => throw new ArgumentOutOfRangeException(nameof(point)),
    };

    [Theory]
    [InlineData("build-folder")]
    [InlineData("first-file")]
    [InlineData("manifest")]
    public async Task Coordinator_killed_mid_merge_leaves_no_success_and_a_rerun_merges_exactly_once(string point)
    {
        // small partitions and stored copies: many parts and bytes, so the merge lasts long enough to be hit
        var spec = new JobSpec { Corpus = corpus.Root, Output = Path.Combine(_work, "out"), Model = "none", PartitionSize = 4, StoreShorter = 128 };
        using var cluster = new FaultCluster(_work, spec);
        Directory.CreateDirectory(spec.Output);
        // the manifest is the merge's last step before _SUCCESS and the rename, which follow it within a millisecond on a
        // fast disk: a failpoint holds the merge there (for longer than the test waits), so the kill lands on it every time
        var pause = point == "manifest"
            ? new Dictionary<string, string> { [Failpoints.Variable] = $"{Failpoints.MergeManifestWritten}=600000" }
            : null;
        var first = cluster.Coordinator(FreePort(), [], withWorker: true, environment: pause);
        var killedAt = await Task.Run(async () =>
        {
            while (!first.HasExited)
            {
                foreach (var build in Directory.EnumerateDirectories(spec.Output, "dataset.tmp-*"))
                {
                    try
                    {
                        if (!Reached(point, build)) continue;
                    }
                    catch (DirectoryNotFoundException)
                    {
                        continue; // published or removed meanwhile
                    }
                    first.KillHard();
                    return Path.GetFileName(build);
                }
                await Task.Delay(2);
            }
            return null;
        });
        await first.WaitForExitAsync(TimeSpan.FromMinutes(3));
        Assert.True(killedAt is not null, "the job ended before its merge could be hit:\n" + first.Tail());
        if (pause is not null) Assert.Contains($"failpoint {Failpoints.MergeManifestWritten}: pausing", first.Output);

        var paths = cluster.Paths;
        var builds = Directory.GetDirectories(spec.Output, "dataset.tmp-*");
        var written = builds.Sum(b => Directory.GetFiles(b, "*", SearchOption.AllDirectories).Length);
        var published = File.Exists(paths.SuccessFile);
        output.WriteLine($"killed at {point}: {builds.Length} build folder(s) left holding {written} file(s); " +
                         $"dataset {(published ? "published" : Directory.Exists(paths.DatasetDir) ? "without _SUCCESS" : "absent")}");
        if (published) cluster.AssertExactlyOnce(corpus.Images); // the kill came after the rename: then it is whole
        else Assert.NotEmpty(builds);
        var assignsBefore = cluster.Journal().Count(e => e.Kind == JournalEntry.Assign);
        var plan = PartitionPlanner.TryLoad(paths.PlanDir)!;
        Assert.Equal(plan.Partitions.Length, FaultCluster.Committed(cluster.Journal()).Count);

        var clock = Stopwatch.StartNew();
        var rerun = cluster.Coordinator(FreePort(), [], withWorker: true);
        var exit = await rerun.WaitForExitAsync(TimeSpan.FromMinutes(2));
        output.WriteLine($"rerun finished in {clock.Elapsed.TotalSeconds:F1} s (process start included)");

        Assert.True(exit == 0, rerun.Tail());
        cluster.AssertExactlyOnce(corpus.Images);
        Assert.Empty(Directory.GetDirectories(spec.Output, "dataset.tmp-*"));
        Assert.Empty(Directory.GetDirectories(spec.Output, "dataset.old-*"));
        Assert.Equal(assignsBefore, cluster.Journal().Count(e => e.Kind == JournalEntry.Assign)); // nothing was redone
    }
}
