using System.Diagnostics;
using Pipeline.Jobs;
using Xunit.Abstractions;
using static Pipeline.Tests.Cluster.ClusterTestSupport;

namespace Pipeline.Tests.Reliability;

/// <summary>
/// README's layout: workers seeded to the coordinator only. The coordinator is SIGKILLed mid-job and restarted with the
/// same command: it founds a new cluster from its own address, the workers down the old one, see no coordinator for
/// <c>pipeline.worker.rejoin-without-coordinator</c>, leave and join their seed again, and the job finishes from the journal.
/// </summary>
[Trait("Category", "Faults")]
[Trait("Category", "Slow")]
[Collection(ProcessFaultsCollection.Name)]
public sealed class CoordinatorRestartTests(FaultCorpusFixture corpus, ITestOutputHelper output) : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("pipeline-coord-restart-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [Fact]
    public async Task Coordinator_killed_and_restarted_with_the_same_command_gets_its_workers_back_and_finishes_the_job()
    {
        // the real ResNet-18 on one core per worker: slow enough that the kill lands mid-job
        var spec = new JobSpec { Corpus = corpus.Root, Output = Path.Combine(_work, "out"), Model = "resnet18", PartitionSize = 12, BatchSize = 8 };
        using var cluster = new FaultCluster(_work, spec, "pipeline.worker.rejoin-without-coordinator = 3s");
        var port = FreePort();
        string[] seeds = [$"akka.tcp://pipeline@127.0.0.1:{port}"];
        var first = cluster.Coordinator(port, []);
        await cluster.WaitForOutputAsync(first, "up with roles", TimeSpan.FromSeconds(60));
        var w1 = cluster.Worker("w1", FreePort(), seeds);
        var w2 = cluster.Worker("w2", FreePort(), seeds);
        await cluster.WaitForJournalAsync(j => FaultCluster.Committed(j).Count >= 3, TimeSpan.FromMinutes(2), first, w1, w2);
        first.KillHard();
        var committedBefore = FaultCluster.Committed(cluster.Journal());
        var clock = Stopwatch.StartNew();

        var second = cluster.Coordinator(port, []);
        await cluster.WaitForJournalAsync(j => j.Count(e => e.Kind == JournalEntry.Committed) > committedBefore.Count,
            TimeSpan.FromSeconds(90), second, w1, w2);
        var backAfter = clock.Elapsed;
        var exit = await second.WaitForExitAsync(TimeSpan.FromMinutes(3));
        output.WriteLine($"{committedBefore.Count} partitions committed at the kill; first commit after the restart {backAfter.TotalSeconds:F1} s " +
                         $"after the kill; job done {clock.Elapsed.TotalSeconds:F1} s after it");

        Assert.True(exit == 0, cluster.Outputs());
        cluster.AssertExactlyOnce(corpus.Images);
        Assert.False(w1.HasExited || w2.HasExited, "a worker exited instead of rejoining:\n" + cluster.Outputs());
        foreach (var worker in new[] { w1, w2 })
            Assert.Contains("no coordinator in this cluster", worker.Output);
        // committed partitions are not handed out again after the restart
        var journal = cluster.Journal();
        var restartIndex = journal.FindLastIndex(e => e.Kind == JournalEntry.Committed && committedBefore.Contains(e.PartitionId));
        Assert.DoesNotContain(journal.Skip(restartIndex + 1), e => e.Kind == JournalEntry.Assign && committedBefore.Contains(e.PartitionId));
    }
}
