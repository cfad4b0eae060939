using System.Diagnostics;
using Pipeline.Jobs;
using static Pipeline.Tests.Cluster.ClusterTestSupport;

namespace Pipeline.Tests.Reliability;

/// <summary>
/// One job on `pipeline node` processes: a one-shot coordinator (`--job`) and workers, each its own OS process on
/// loopback (or in a network namespace), with helpers to wait on the durable journal and to check the dataset.
/// </summary>
public sealed class FaultCluster : IDisposable
{
    private readonly List<PipelineProcess> _processes = [];

    public FaultCluster(string work, JobSpec spec, string extraHocon = "")
    {
        Work = work;
        Directory.CreateDirectory(work);
        Spec = spec;
        JobFile = Path.Combine(work, "job.json");
        File.WriteAllText(JobFile, spec.ToJson());
        ConfigFile = Path.Combine(work, "test.conf");
        File.WriteAllText(ConfigFile, FastFailureHocon + "\n" + extraHocon);
    }

    public string Work { get; }
    public JobSpec Spec { get; }
    public string JobFile { get; }
    public string ConfigFile { get; }
    public string Output => Spec.Output;
    public JobPaths Paths => new(Spec.Output);
    public IReadOnlyList<PipelineProcess> Processes => _processes;

    public PipelineProcess Coordinator(int port, IEnumerable<string> seeds, string? hostname = null, bool withWorker = false, string? netns = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var args = new List<string> { "node", "--role", withWorker ? "coordinator,worker" : "coordinator", "--local", "--port", port.ToString(),
            "--job", JobFile, "--config", ConfigFile };
        if (withWorker) args.AddRange(["--threads", "1", "--name", "solo"]);
        if (hostname is not null) args.AddRange(["--hostname", hostname, "--insecure"]); // inside a network namespace of the test's own
        foreach (var seed in seeds) args.AddRange(["--seed", seed]);
        return Track(new PipelineProcess("coordinator", args, environment, netns));
    }

    public PipelineProcess Worker(string name, int port, IEnumerable<string> seeds, string? hostname = null, string? netns = null)
    {
        var args = new List<string> { "node", "--role", "worker", "--local", "--port", port.ToString(), "--name", name, "--threads", "1",
            "--config", ConfigFile };
        if (hostname is not null) args.AddRange(["--hostname", hostname, "--insecure"]); // inside a network namespace of the test's own
        foreach (var seed in seeds) args.AddRange(["--seed", seed]);
        return Track(new PipelineProcess(name, args, netns: netns));
    }

    public PipelineProcess Track(PipelineProcess process)
    {
        _processes.Add(process);
        return process;
    }

    public List<JournalEntry> Journal() => CommitJournal.Read(Paths.JournalFile);

    public static HashSet<string> Committed(List<JournalEntry> journal) =>
        journal.Where(e => e.Kind == JournalEntry.Committed).Select(e => e.PartitionId).ToHashSet();

    /// <summary>Partitions handed to <paramref name="worker"/> and not committed by anyone (yet).</summary>
    public static HashSet<string> HeldUncommitted(List<JournalEntry> journal, string worker)
    {
        var committed = Committed(journal);
        return journal.Where(e => e.Kind == JournalEntry.Assign && e.Worker == worker && !committed.Contains(e.PartitionId))
            .Select(e => e.PartitionId).ToHashSet();
    }

    /// <summary>The most partitions one worker name held at once (assigned to it last, not yet committed), over the journal.</summary>
    public static (string Worker, int Count) MostHeld(List<JournalEntry> journal)
    {
        var holder = new Dictionary<string, string>(StringComparer.Ordinal);
        var most = ("", 0);
        foreach (var entry in journal)
        {
            if (entry.Kind == JournalEntry.Assign) holder[entry.PartitionId] = entry.Worker;
            else holder.Remove(entry.PartitionId);
            if (entry.Kind != JournalEntry.Assign) continue;
            var count = holder.Values.Count(w => w == entry.Worker);
            if (count > most.Item2) most = (entry.Worker, count);
        }
        return most;
    }

    /// <summary>Waits for a line of a process's output (e.g. the node's "up" line) so that others start against a listening seed.</summary>
    public async Task WaitForOutputAsync(PipelineProcess process, string text, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!process.Output.Contains(text, StringComparison.Ordinal))
        {
            if (process.HasExited) throw new InvalidOperationException($"{process.Name} exited ({process.ExitCode}):\n{process.Tail()}");
            if (clock.Elapsed > timeout) throw new TimeoutException($"{process.Name} never printed '{text}':\n{process.Tail()}");
            await Task.Delay(50);
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds on the journal; fails early when a process that must live exits.</summary>
    public async Task WaitForJournalAsync(Func<List<JournalEntry>, bool> condition, TimeSpan timeout, params PipelineProcess[] mustLive)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (File.Exists(Paths.JournalFile) && condition(Journal())) return;
            foreach (var process in mustLive)
                if (process.HasExited) throw new InvalidOperationException($"{process.Name} exited early ({process.ExitCode}):\n{process.Tail()}");
            await Task.Delay(50);
        }
        throw new TimeoutException($"journal condition not reached in {timeout}:\n{Outputs()}");
    }

    public string Outputs(int lines = 40) =>
        string.Join("\n----\n", _processes.Select(p => $"{p.Name} (pid {p.Id}):\n{p.Tail(lines)}"));

    /// <summary>The dataset holds every corpus image exactly once (DuckDB: rows = distinct ids = corpus) and its _SUCCESS.</summary>
    public void AssertExactlyOnce(long corpusImages)
    {
        var dataset = Paths.DatasetDir;
        Assert.True(File.Exists(Paths.SuccessFile), $"no _SUCCESS in {dataset}");
        var (rows, distinct) = CountImages(dataset);
        Assert.Equal(corpusImages, rows);
        Assert.Equal(rows, distinct);
        var quarantined = Convert.ToInt64(Storage.DuckDb.Scalar($"SELECT count(*) FROM read_parquet('{Sql(Path.Combine(dataset, "errors.parquet"))}')"));
        Assert.Equal(0L, quarantined);
        // and the journal recorded one commit per partition of the plan, never two
        var plan = PartitionPlanner.TryLoad(Paths.PlanDir)!;
        var commits = Journal().Where(e => e.Kind == JournalEntry.Committed).Select(e => e.PartitionId).ToList();
        Assert.Equal(plan.Partitions.Length, commits.Count);
        Assert.Equal(commits.Count, commits.Distinct().Count());
    }

    public void Dispose()
    {
        foreach (var process in _processes) process.Dispose();
    }
}
