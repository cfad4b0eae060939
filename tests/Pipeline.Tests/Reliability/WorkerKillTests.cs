using System.Diagnostics;
using Pipeline.Jobs;
using Pipeline.Synth;
using Xunit.Abstractions;
using static Pipeline.Tests.Cluster.ClusterTestSupport;

namespace Pipeline.Tests.Reliability;

/// <summary>A generated corpus of about 700 small real JPEGs: long enough a job for kills to land mid-way on 2 cores.</summary>
public sealed class FaultCorpusFixture : IDisposable
{
    public FaultCorpusFixture()
    {
        Root = Directory.CreateTempSubdirectory("pipeline-fault-corpus-").FullName;
        var summary = CorpusGenerator.Generate(new SynthOptions(Root, Scale: 0.001, MaxSide: 96) { MinTrainImagesPerClass = 8 });
        Images = summary.TrainImages + summary.ValImages;
    }

    public string Root { get; }
    public long Images { get; }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

/// <summary>
/// Workers killed with SIGKILL at seeded random points of a job on separate `pipeline node` processes. Each run kills
/// two workers that hold unfinished partitions: the first is restarted under its own name and address (as a Kubernetes
/// pod restarts), the second is replaced by a new worker. The seed picks the commit counts, delays and victims. Every
/// run must end with every image exactly once and the lost partitions re-queued long before their leases run out.
/// </summary>
[Trait("Category", "Faults")]
[Collection(ProcessFaultsCollection.Name)]
[Trait("Category", "Slow")]
public sealed class WorkerKillTests(FaultCorpusFixture corpus, ITestOutputHelper output) : IDisposable
{
    /// <summary>Leases long enough that only noticing the death (not the lease running out) can re-queue in time.</summary>
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan RequeueBound = TimeSpan.FromSeconds(30);

    private readonly string _work = Directory.CreateTempSubdirectory("pipeline-kill-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [Theory]
    [InlineData(11)]
    [InlineData(23)]
    [InlineData(47)]
    public async Task Workers_killed_at_seeded_random_points_leave_every_image_exactly_once(int seed)
    {
        var random = new Random(seed);
        // the real ResNet-18 on one core per worker: slow enough that kills land mid-partition
        var spec = new JobSpec { Corpus = corpus.Root, Output = Path.Combine(_work, "out"), Model = "resnet18", PartitionSize = 12, BatchSize = 8 };
        using var cluster = new FaultCluster(_work, spec, $"pipeline.coordinator.lease = {Lease.TotalSeconds:0}s");
        var coordinatorPort = FreePort();
        string[] seeds = [$"akka.tcp://pipeline@127.0.0.1:{coordinatorPort}"];
        var coordinator = cluster.Coordinator(coordinatorPort, seeds);
        await cluster.WaitForOutputAsync(coordinator, "up with roles", TimeSpan.FromSeconds(60));
        var workers = new Dictionary<string, (PipelineProcess Process, int Port)>();
        foreach (var name in new[] { "w1", "w2", "w3" })
        {
            var port = FreePort();
            workers[name] = (cluster.Worker(name, port, seeds), port);
        }
        await cluster.WaitForJournalAsync(_ => PartitionPlanner.TryLoad(cluster.Paths.PlanDir) is not null, TimeSpan.FromSeconds(60), coordinator);
        var partitions = PartitionPlanner.TryLoad(cluster.Paths.PlanDir)!.Partitions.Length;

        var kills = new List<string>();
        var lost = new HashSet<string>();
        var threshold = 0;
        for (var kill = 0; kill < 2; kill++)
        {
            threshold = random.Next(threshold + 1, threshold + partitions / 4);
            var atLeast = threshold;
            await cluster.WaitForJournalAsync(j => FaultCluster.Committed(j).Count >= atLeast, TimeSpan.FromMinutes(2), coordinator);
            await Task.Delay(random.Next(0, 1000)); // the behaviour under test: a kill at a seeded random moment between commits
            // a victim that holds unfinished work, so that the kill costs something
            var journal = cluster.Journal();
            var holders = workers.Keys.Where(w => FaultCluster.HeldUncommitted(journal, w).Count > 0).Order().ToArray();
            if (holders.Length == 0) break; // the job outran the schedule
            var victim = holders[random.Next(holders.Length)];
            var held = FaultCluster.HeldUncommitted(journal, victim);
            var attempts = journal.Where(e => e.Kind == JournalEntry.Assign && held.Contains(e.PartitionId))
                .GroupBy(e => e.PartitionId).ToDictionary(g => g.Key, g => g.Max(e => e.Attempt));
            workers[victim].Process.KillHard();
            var clock = Stopwatch.StartNew();
            lost.UnionWith(held);
            var restart = kill == 0;
            if (restart)
            {
                workers[victim] = (cluster.Worker(victim, workers[victim].Port, seeds), workers[victim].Port);
            }
            else
            {
                var port = FreePort();
                workers.Remove(victim);
                workers[$"w{4 + kill}"] = (cluster.Worker($"w{4 + kill}", port, seeds), port);
            }
            await cluster.WaitForJournalAsync(j => attempts.All(a => j.Any(e => e.PartitionId == a.Key
                && (e.Kind == JournalEntry.Committed || e.Attempt > a.Value))), RequeueBound, coordinator);
            kills.Add($"{victim} ({(restart ? "restarted" : "replaced")}) after {FaultCluster.Committed(journal).Count}/{partitions} commits " +
                      $"holding {held.Count}, re-queued in {clock.Elapsed.TotalSeconds:F1} s");
        }

        var exit = await coordinator.WaitForExitAsync(TimeSpan.FromMinutes(3));
        output.WriteLine($"seed {seed}: {string.Join("; ", kills)}");
        Assert.True(exit == 0, cluster.Outputs());
        Assert.NotEmpty(kills);
        cluster.AssertExactlyOnce(corpus.Images);
        Assert.Superset(lost, FaultCluster.Committed(cluster.Journal()));
        // reported, not asserted: work pulling may over-assign when requests cross assignments (see docs/RELIABILITY.md)
        var hoard = FaultCluster.MostHeld(cluster.Journal());
        output.WriteLine($"most partitions held at once: {hoard.Count} by {hoard.Worker} (asked for 2)");
    }
}
