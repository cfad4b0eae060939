using System.Diagnostics;
using System.Text.Json;
using Pipeline.Corpus;
using Pipeline.Jobs;
using Pipeline.Synth;
using Pipeline.Tests.Reliability;
using Xunit.Abstractions;
using static Pipeline.Tests.Cluster.ClusterTestSupport;

namespace Pipeline.Tests.Jobs;

/// <summary>A few hundred small real JPEGs; its val split alone is a ResNet-18 job of seconds, long enough to interrupt.</summary>
public sealed class RunCorpusFixture : IDisposable
{
    public RunCorpusFixture()
    {
        Root = Directory.CreateTempSubdirectory("pipeline-run-corpus-").FullName;
        CorpusGenerator.Generate(new SynthOptions(Root, Scale: 0.0005, MaxSide: 64) { MinTrainImagesPerClass = 4 });
        Images = new CorpusReader(Root).ReadImages([Splits.Train, Splits.Val]).LongCount();
        ValImages = new CorpusReader(Root).ReadImages([Splits.Val]).LongCount();
    }

    public string Root { get; }
    public long Images { get; }
    public long ValImages { get; }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

/// <summary>
/// The output folder as users meet it through real `pipeline run` processes: one owner at a time, foreign files never
/// touched, reruns that redo exactly what is missing, duplicate ids refused before any work, and Ctrl-C / SIGTERM that
/// stop in seconds and resume.
/// </summary>
[Trait("Category", "Processes")]
[Collection(ProcessFaultsCollection.Name)]
[Trait("Category", "Slow")]
public sealed class OutputFolderRunTests(RunCorpusFixture corpus, ITestOutputHelper output) : IClassFixture<RunCorpusFixture>, IDisposable
{
    private static readonly TimeSpan JobTimeout = TimeSpan.FromMinutes(3);
    private readonly string _work = Directory.CreateTempSubdirectory("pipeline-outdir-").FullName;
    private readonly List<PipelineProcess> _processes = [];

    private string Out => Path.Combine(_work, "out");

    public void Dispose()
    {
        foreach (var process in _processes) process.Dispose();
        Directory.Delete(_work, recursive: true);
    }

    /// <summary>
    /// `pipeline run` on the fixture corpus into <see cref="Out"/>: the real ResNet-18 on the val split (small partitions,
    /// so there is time to interrupt it), or with <c>--model none</c> on train and val.
    /// </summary>
    private PipelineProcess Run(string name, params string[] extra)
    {
        string[] job = extra.Contains("none") ? extra.Contains("--partition-size") ? [] : ["--partition-size", "16"] : ["--splits", "val", "--partition-size", "6"];
        string[] args = ["run", "--corpus", corpus.Root, "--out", Out, "--batch", "8", "--threads", "1", .. job, .. extra];
        var process = new PipelineProcess(name, args);
        _processes.Add(process);
        return process;
    }

    private static async Task<int> ExitAsync(PipelineProcess process, TimeSpan? timeout = null) =>
        await process.WaitForExitAsync(timeout ?? JobTimeout);

    private static async Task WaitForCommitsAsync(string output, int atLeast, PipelineProcess process)
    {
        var clock = Stopwatch.StartNew();
        while (Commits(output).Count < atLeast)
        {
            if (process.HasExited) throw new InvalidOperationException($"{process.Name} exited before {atLeast} commits:\n{process.Tail()}");
            if (clock.Elapsed > JobTimeout) throw new TimeoutException($"fewer than {atLeast} commits after {JobTimeout}:\n{process.Tail()}");
            await Task.Delay(100);
        }
    }

    private static List<JournalEntry> Commits(string output) =>
        Journal(output).Where(e => e.Kind == JournalEntry.Committed).ToList();

    /// <summary>DuckDB reads every image of the job's splits exactly once: count = count distinct = corpus.</summary>
    private void AssertEveryImageOnce(bool valOnly = false)
    {
        var dataset = Path.Combine(Out, "dataset");
        Assert.True(File.Exists(Path.Combine(dataset, "_SUCCESS")), "no _SUCCESS");
        var (rows, distinct) = CountImages(dataset);
        var expected = valOnly ? corpus.ValImages : corpus.Images;
        Assert.Equal(expected, rows);
        Assert.Equal(expected, distinct);
    }

    [Fact]
    public async Task A_second_run_on_a_folder_in_use_is_refused_naming_the_holder_and_a_rerun_afterwards_succeeds()
    {
        var first = Run("first");
        await WaitForCommitsAsync(Out, 1, first);

        var clock = Stopwatch.StartNew();
        var second = Run("second");
        Assert.Equal(2, await ExitAsync(second, TimeSpan.FromSeconds(60)));
        var refusedAfter = clock.Elapsed;
        Assert.Contains("in use by another job", second.Output);
        Assert.Contains($"pid {first.Id}", second.Output);
        Assert.Contains($"host {Environment.MachineName}", second.Output);
        Assert.True(refusedAfter < TimeSpan.FromSeconds(20), $"refused only after {refusedAfter}");
        output.WriteLine($"second run refused after {refusedAfter.TotalSeconds:F1} s (process start included)");

        Assert.True(await ExitAsync(first) == 0, first.Tail());
        AssertEveryImageOnce(valOnly: true);
        Assert.False(File.Exists(new JobPaths(Out).LockFile), "the lock outlived its job");

        var rerun = Run("rerun");
        Assert.True(await ExitAsync(rerun) == 0, rerun.Tail());
        AssertEveryImageOnce(valOnly: true);
    }

    [Fact]
    public async Task The_lock_of_a_killed_run_is_taken_over_at_once_and_the_job_resumes()
    {
        var killed = Run("killed");
        await WaitForCommitsAsync(Out, 2, killed);
        killed.KillHard();
        await ExitAsync(killed, TimeSpan.FromSeconds(10));
        var lockFile = new JobPaths(Out).LockFile;
        Assert.True(File.Exists(lockFile), "a SIGKILLed run cannot remove its lock");
        Assert.Contains($"\"pid\":{killed.Id}", File.ReadAllText(lockFile));
        var committedBefore = Commits(Out).Select(c => (c.PartitionId, c.Attempt)).ToHashSet();

        var rerun = Run("rerun");
        Assert.True(await ExitAsync(rerun) == 0, rerun.Tail());
        AssertEveryImageOnce(valOnly: true);
        // the killed run's commits were kept, not redone
        var commits = Commits(Out);
        Assert.All(committedBefore, c => Assert.Single(commits, e => e.PartitionId == c.PartitionId));
    }

    [Fact]
    public async Task A_lock_from_another_machine_is_honoured_while_its_heartbeat_is_fresh_and_taken_over_when_stale()
    {
        var paths = new JobPaths(Out);
        Directory.CreateDirectory(paths.StateDir);
        var holder = new OutputLockHolder("other-host", 4242, "0123456789abcdef", DateTimeOffset.UtcNow.AddMinutes(-10), "feed")
            { Machine = "other-host/boot/pid:[1]" };
        File.WriteAllText(paths.LockFile, JsonSerializer.Serialize(holder, JobJson.Compact));

        var refused = Run("refused", "--model", "none");
        Assert.Equal(2, await ExitAsync(refused, TimeSpan.FromSeconds(60)));
        Assert.Contains("host other-host, pid 4242, job 0123456789abcdef", refused.Output);

        File.SetLastWriteTimeUtc(paths.LockFile, DateTime.UtcNow - OutputLock.StaleAfter - TimeSpan.FromSeconds(5));
        var taker = Run("taker", "--model", "none");
        Assert.True(await ExitAsync(taker) == 0, taker.Tail());
        AssertEveryImageOnce();
        Assert.False(File.Exists(paths.LockFile));
    }

    [Fact]
    public async Task Foreign_files_are_refused_then_used_with_allow_nonempty_out_and_never_deleted()
    {
        Directory.CreateDirectory(Path.Combine(Out, "notes"));
        File.WriteAllText(Path.Combine(Out, "README.txt"), "mine");
        File.WriteAllText(Path.Combine(Out, "notes", "a.csv"), "1,2");

        var refused = Run("refused", "--model", "none");
        Assert.Equal(2, await ExitAsync(refused, TimeSpan.FromSeconds(60)));
        Assert.Contains("did not write (README.txt, notes/)", refused.Output);
        Assert.Contains("--allow-nonempty-out", refused.Output);
        Assert.False(Directory.Exists(Path.Combine(Out, "_pipeline")), "a refused run wrote into the folder");

        var allowed = Run("allowed", "--model", "none", "--allow-nonempty-out");
        Assert.True(await ExitAsync(allowed) == 0, allowed.Tail());
        AssertEveryImageOnce();
        // a changed job in the same folder (another partition size) replaces only what Pipeline wrote
        var changed = Run("changed", "--model", "none", "--allow-nonempty-out", "--partition-size", "40");
        Assert.True(await ExitAsync(changed) == 0, changed.Tail());
        AssertEveryImageOnce();
        Assert.Equal("mine", File.ReadAllText(Path.Combine(Out, "README.txt")));
        Assert.Equal("1,2", File.ReadAllText(Path.Combine(Out, "notes", "a.csv")));
    }

    [Fact]
    public async Task A_dataset_folder_Pipeline_did_not_write_is_never_replaced_even_when_allowed()
    {
        var dataset = Path.Combine(Out, "dataset");
        Directory.CreateDirectory(dataset);
        File.WriteAllText(Path.Combine(dataset, "train.parquet"), "not ours");

        var refused = Run("refused", "--model", "none", "--allow-nonempty-out");
        Assert.Equal(2, await ExitAsync(refused, TimeSpan.FromSeconds(60)));
        Assert.Contains("no Pipeline manifest", refused.Output);
        Assert.Equal("not ours", File.ReadAllText(Path.Combine(dataset, "train.parquet")));
    }

    [Fact]
    public async Task A_rerun_after_the_dataset_was_deleted_rebuilds_it_with_every_image_once()
    {
        var run = Run("run", "--model", "none");
        Assert.True(await ExitAsync(run) == 0, run.Tail());
        AssertEveryImageOnce();
        Directory.Delete(Path.Combine(Out, "dataset"), recursive: true);

        var rerun = Run("rerun", "--model", "none");
        Assert.True(await ExitAsync(rerun) == 0, rerun.Tail());
        AssertEveryImageOnce();

        // and a rerun of the finished job reuses the dataset as it is
        var again = Run("again", "--model", "none");
        Assert.True(await ExitAsync(again) == 0, again.Tail());
        AssertEveryImageOnce();
    }

    [Fact]
    public async Task Ctrl_C_stops_within_seconds_and_the_rerun_redoes_only_the_missing_and_the_deleted_partitions()
    {
        var run = Run("run");
        await WaitForCommitsAsync(Out, 3, run);
        var clock = Stopwatch.StartNew();
        run.Interrupt();
        Assert.Equal(130, await ExitAsync(run, TimeSpan.FromSeconds(30)));
        var stoppedIn = clock.Elapsed;
        Assert.True(stoppedIn < TimeSpan.FromSeconds(12), $"stopped only after {stoppedIn}");
        output.WriteLine($"SIGINT: exit 130 after {stoppedIn.TotalSeconds:F1} s; {run.Output.Split('\n').First(l => l.StartsWith("Stopped:"))}");
        Assert.Matches(@"Stopped: \d+ of \d+ partitions committed", run.Output);
        Assert.Contains("Run the same command again to resume", run.Output);
        Assert.False(File.Exists(new JobPaths(Out).LockFile), "Ctrl-C left the lock behind");

        var before = Commits(Out);
        var deleted = before[0];
        File.Delete(Path.Combine(Out, deleted.Commit!.Part.RowsPath));

        var rerun = Run("rerun");
        Assert.True(await ExitAsync(rerun) == 0, rerun.Tail());
        AssertEveryImageOnce(valOnly: true);
        var after = Commits(Out);
        // the deleted part was done again under a new attempt; every other kept commit stayed as it was
        Assert.Contains(after, c => c.PartitionId == deleted.PartitionId && c.Attempt > deleted.Attempt);
        foreach (var kept in before.Skip(1))
            Assert.Contains(after, c => c.PartitionId == kept.PartitionId && c.Attempt == kept.Attempt);
        Assert.Equal(after.Count, after.Select(c => c.PartitionId).Distinct().Count());
        output.WriteLine($"{corpus.ValImages} images; {before.Count} commits kept, 1 part deleted; rerun committed {after.Count - before.Count + 1} partitions");
    }

    [Fact]
    public async Task SIGTERM_stops_within_seconds_with_exit_143_and_a_second_Ctrl_C_exits_at_once()
    {
        var terminated = Run("terminated");
        await WaitForCommitsAsync(Out, 1, terminated);
        var clock = Stopwatch.StartNew();
        terminated.Terminate();
        Assert.Equal(143, await ExitAsync(terminated, TimeSpan.FromSeconds(30)));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(12), $"stopped only after {clock.Elapsed}");
        output.WriteLine($"SIGTERM: exit 143 after {clock.Elapsed.TotalSeconds:F1} s");
        Assert.Matches(@"Stopped: \d+ of \d+ partitions committed", terminated.Output);

        var twice = Run("twice");
        await WaitForCommitsAsync(Out, Commits(Out).Count + 1, twice);
        clock.Restart();
        twice.Interrupt();
        await Task.Delay(100); // the behaviour under test: a second, separate Ctrl-C while the first one is being handled
        twice.Interrupt();
        Assert.Equal(130, await ExitAsync(twice, TimeSpan.FromSeconds(30)));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"a second Ctrl-C took {clock.Elapsed}");
        output.WriteLine($"Ctrl-C twice: exit 130 after {clock.Elapsed.TotalSeconds:F1} s");

        var rerun = Run("rerun");
        Assert.True(await ExitAsync(rerun) == 0, rerun.Tail());
        AssertEveryImageOnce(valOnly: true);
    }

    [Fact]
    public async Task Duplicate_image_ids_are_refused_at_planning_naming_the_ids_and_files()
    {
        // the same id in train and val, and twice within train: refused before any image is read (no JPEG exists here)
        var root = Path.Combine(_work, "dup-corpus");
        Directory.CreateDirectory(root);
        static string LabelFile(string images, string labels) =>
            $$"""{"images": {{images}}, "annotations": {{labels}}, "categories": [{"id": 0, "name": "Turdus migratorius", "supercategory": "Aves"}]}""";
        System.IO.File.WriteAllText(Path.Combine(root, "train2017.json"), LabelFile(
            """[{"id": 7, "file_name": "a/7.jpg", "width": 10, "height": 10}, {"id": 8, "file_name": "a/8.jpg", "width": 10, "height": 10}, {"id": 8, "file_name": "a/8b.jpg", "width": 10, "height": 10}]""",
            """[{"id": 1, "image_id": 7, "category_id": 0}, {"id": 2, "image_id": 8, "category_id": 0}]"""));
        System.IO.File.WriteAllText(Path.Combine(root, "val2017.json"), LabelFile(
            """[{"id": 7, "file_name": "b/7.jpg", "width": 10, "height": 10}]""",
            """[{"id": 3, "image_id": 7, "category_id": 0}]"""));

        var process = new PipelineProcess("dup", ["run", "--corpus", root, "--out", Out, "--model", "none"]);
        _processes.Add(process);
        Assert.Equal(2, await ExitAsync(process, TimeSpan.FromSeconds(60)));
        Assert.Contains("2 image id(s) occur more than once (1 across splits, 1 within one file)", process.Output);
        Assert.Contains("image id 7 is in train2017.json (train) and again in val2017.json (val", process.Output);
        Assert.Contains("train2017.json", process.Output);
        Assert.False(Directory.Exists(Path.Combine(Out, "parts")), "work started on a corpus with duplicate ids");
        Assert.False(File.Exists(new JobPaths(Out).LockFile));
    }
}
