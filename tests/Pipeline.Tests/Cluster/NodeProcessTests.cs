using Pipeline.Jobs;
using static Pipeline.Tests.Cluster.ClusterTestSupport;

namespace Pipeline.Tests.Cluster;

/// <summary>
/// Separate `pipeline node` processes on loopback TCP: a one-shot coordinator and two workers, with a worker or the
/// coordinator killed by SIGKILL mid-job. The job must still finish with every image exactly once.
/// </summary>
[Trait("Category", "Processes")]
[Trait("Category", "Slow")]
public sealed class NodeProcessTests(SmallCorpusFixture corpus) : IClassFixture<SmallCorpusFixture>, IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("pipeline-procs-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    private string Output => Path.Combine(_work, "out");

    private (string JobFile, string ConfigFile) WriteJob()
    {
        // the real ResNet-18 on one core per worker: slow enough that a kill lands mid-job
        var spec = new JobSpec { Corpus = corpus.Root, Output = Output, Model = "resnet18", PartitionSize = 12, BatchSize = 8 };
        var jobFile = Path.Combine(_work, "job.json");
        File.WriteAllText(jobFile, spec.ToJson());
        var configFile = Path.Combine(_work, "test.conf");
        File.WriteAllText(configFile, FastFailureHocon);
        return (jobFile, configFile);
    }

    private static NodeProcess Coordinator(int port, string jobFile, string config, params string[] seeds)
    {
        var args = new List<string> { "node", "--role", "coordinator", "--local", "--port", port.ToString(), "--job", jobFile, "--config", config };
        foreach (var seed in seeds) args.AddRange(["--seed", seed]);
        return new NodeProcess("coordinator", args.ToArray());
    }

    private static NodeProcess Worker(string name, int port, string config, params string[] seeds)
    {
        var args = new List<string> { "node", "--role", "worker", "--local", "--port", port.ToString(), "--name", name, "--threads", "1", "--config", config };
        foreach (var seed in seeds) args.AddRange(["--seed", seed]);
        return new NodeProcess(name, args.ToArray());
    }

    private async Task WaitUntilAsync(Func<List<JournalEntry>, bool> condition, TimeSpan timeout, params NodeProcess[] nodes)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (File.Exists(new JobPaths(Output).JournalFile) && condition(Journal(Output))) return;
            foreach (var node in nodes)
                if (node.HasExited) throw new InvalidOperationException($"{node.Name} exited early ({node.ExitCode}):\n{node.Output}");
            await Task.Delay(100);
        }
        throw new TimeoutException("condition not reached:\n" + string.Join("\n----\n", nodes.Select(n => n.Name + ":\n" + n.Output)));
    }

    private static bool HoldsUncommitted(List<JournalEntry> journal, string worker)
    {
        var committed = journal.Where(e => e.Kind == JournalEntry.Committed).Select(e => e.PartitionId).ToHashSet();
        return journal.Any(e => e.Kind == JournalEntry.Assign && e.Worker == worker && !committed.Contains(e.PartitionId));
    }

    private void AssertExactlyOnce()
    {
        var (rows, distinct) = CountImages(Path.Combine(Output, "dataset"));
        Assert.Equal(corpus.Images, rows);
        Assert.Equal(rows, distinct);
        Assert.True(File.Exists(Path.Combine(Output, "dataset", "_SUCCESS")));
    }

    [Fact]
    public async Task Worker_killed_mid_job_its_partitions_are_redone_and_every_image_appears_once()
    {
        var (jobFile, config) = WriteJob();
        var port = FreePort();
        var seed = $"akka.tcp://pipeline@127.0.0.1:{port}";
        using var coordinator = Coordinator(port, jobFile, config);
        using var w1 = Worker("w1", FreePort(), config, seed);
        using var w2 = Worker("w2", FreePort(), config, seed);

        // kill w1 once it has committed something and holds a partition it has not committed
        await WaitUntilAsync(j => j.Any(e => e.Kind == JournalEntry.Committed && e.Worker == "w1") && HoldsUncommitted(j, "w1"),
            TimeSpan.FromMinutes(3), coordinator, w1, w2);
        var before = Journal(Output);
        var committedBefore = before.Where(e => e.Kind == JournalEntry.Committed).Select(e => e.PartitionId).ToHashSet();
        var lost = before.Where(e => e.Kind == JournalEntry.Assign && e.Worker == "w1" && !committedBefore.Contains(e.PartitionId))
            .Select(e => e.PartitionId).ToHashSet();
        w1.KillHard();

        var exit = await coordinator.WaitForExitAsync(TimeSpan.FromMinutes(4));
        Assert.True(exit == 0, coordinator.Output);
        AssertExactlyOnce();
        var journal = Journal(Output);
        foreach (var partition in lost)
        {
            // w1 may have finished a lost partition in its last instant; otherwise w2 redid it under a new attempt
            var commit = Assert.Single(journal, e => e.Kind == JournalEntry.Committed && e.PartitionId == partition);
            if (commit.Worker != "w1") Assert.Equal("w2", commit.Worker);
        }
        Assert.Contains(journal, e => e.Kind == JournalEntry.Committed && e.Worker == "w2" && lost.Contains(e.PartitionId));
    }

    [Fact]
    public async Task Coordinator_killed_mid_job_resumes_from_its_journal_without_redoing_committed_partitions()
    {
        var (jobFile, config) = WriteJob();
        var port = FreePort();
        int w1Port = FreePort(), w2Port = FreePort();
        var seed = $"akka.tcp://pipeline@127.0.0.1:{port}";
        string[] all = [seed, $"akka.tcp://pipeline@127.0.0.1:{w1Port}", $"akka.tcp://pipeline@127.0.0.1:{w2Port}"];
        var first = Coordinator(port, jobFile, config, all);
        using var w1 = Worker("w1", w1Port, config, all);
        using var w2 = Worker("w2", w2Port, config, all);
        HashSet<string> committedBefore;
        try
        {
            await WaitUntilAsync(j => j.Count(e => e.Kind == JournalEntry.Committed) >= 3, TimeSpan.FromMinutes(3), first, w1, w2);
            first.KillHard();
            committedBefore = Journal(Output).Where(e => e.Kind == JournalEntry.Committed).Select(e => e.PartitionId).ToHashSet();
        }
        finally
        {
            first.Dispose();
        }

        using var second = Coordinator(port, jobFile, config, all);
        var exit = await second.WaitForExitAsync(TimeSpan.FromMinutes(4));
        Assert.True(exit == 0, second.Output + "\n---- w1:\n" + w1.Output);
        AssertExactlyOnce();
        var journal = Journal(Output);
        var handedOutAfter = journal.Skip(journal.FindLastIndex(e => committedBefore.Contains(e.PartitionId) && e.Kind == JournalEntry.Committed) + 1)
            .Where(e => e.Kind == JournalEntry.Assign).Select(e => e.PartitionId).ToList();
        Assert.DoesNotContain(handedOutAfter, committedBefore.Contains);
    }
}
