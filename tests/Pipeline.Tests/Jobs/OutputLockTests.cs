using System.Text.Json;
using Pipeline.Jobs;
using Pipeline.Storage;

namespace Pipeline.Tests.Jobs;

/// <summary>The output folder's lock and ownership rules, on a real file system, without a job around them.</summary>
public sealed class OutputLockTests : IDisposable
{
    private readonly string _out = Directory.CreateTempSubdirectory("pipeline-lock-").FullName;

    public void Dispose() => Directory.Delete(_out, recursive: true);

    [Fact]
    public void A_held_lock_refuses_a_second_owner_naming_host_pid_and_job_and_is_free_after_release()
    {
        using (var held = OutputLock.Acquire(_out, "job-a"))
        {
            var refused = Assert.Throws<OutputInUseException>(() => OutputLock.Acquire(_out, "job-b"));
            Assert.Contains($"host {Environment.MachineName}, pid {Environment.ProcessId}, job job-a", refused.Message);
            Assert.Equal("job-a", OutputLock.FindLiveHolder(_out)?.Job);
        }
        Assert.False(File.Exists(new JobPaths(_out).LockFile));
        Assert.Null(OutputLock.FindLiveHolder(_out));
        using var next = OutputLock.Acquire(_out, "job-b");
        Assert.Null(next.TookOverFrom);
    }

    [Fact]
    public void A_lock_of_a_process_gone_from_this_machine_is_taken_over_at_once()
    {
        var path = new JobPaths(_out).LockFile;
        using (OutputLock.Acquire(_out, "crashed"))
        {
            // the same machine identity with a pid that no longer runs: what a SIGKILLed run leaves
            var text = File.ReadAllText(path);
            var holder = JsonSerializer.Deserialize<OutputLockHolder>(text, JobJson.Compact)! with { Pid = DeadPid(), Token = "crashed-run" };
            File.Delete(path);
            File.WriteAllText(path, JsonSerializer.Serialize(holder, JobJson.Compact));
        }
        Assert.True(File.Exists(path), "release must not delete a lock it no longer owns");
        using var taken = OutputLock.Acquire(_out, "resumed");
        Assert.Equal("crashed", taken.TookOverFrom?.Job);
        Assert.Equal("resumed", OutputLock.FindLiveHolder(_out)?.Job);
    }

    [Fact]
    public void A_lock_taken_over_while_its_owner_was_frozen_is_lost_and_refuses_to_publish()
    {
        using var frozen = OutputLock.Acquire(_out, "frozen");
        var path = new JobPaths(_out).LockFile;
        File.Delete(path); // as a takeover after the heartbeat went stale does
        using var other = OutputLock.Acquire(_out, "other");
        var lost = Assert.Throws<OutputInUseException>(frozen.ThrowIfLost);
        Assert.Contains("job other", lost.Message);
        frozen.Dispose();
        Assert.Equal("other", OutputLock.FindLiveHolder(_out)?.Job);
    }

    [Fact]
    public void A_journal_commit_whose_part_is_gone_is_dropped_and_its_attempts_stay_recorded()
    {
        var paths = new JobPaths(_out);
        Directory.CreateDirectory(paths.StateDir);
        var kept = Commit("p-1", 1);
        var gone = Commit("p-2", 2);
        CommitJournal.Rewrite(paths.JournalFile, [
            new JournalEntry(JournalEntry.Assign, "p-1", 1, "w"), new JournalEntry(JournalEntry.Committed, "p-1", 1, "w", kept),
            new JournalEntry(JournalEntry.Assign, "p-2", 2, "w"), new JournalEntry(JournalEntry.Committed, "p-2", 2, "w", gone)]);
        File.Delete(PartFiles.Resolve(_out, gone.Part.RowsPath));

        Assert.Equal(["p-2"], OutputFolder.DropMissingCommits(paths, "job"));
        var entries = CommitJournal.Read(paths.JournalFile);
        Assert.Equal(3, entries.Count);
        Assert.Single(entries, e => e.Kind == JournalEntry.Committed);
        Assert.Contains(entries, e => e is { Kind: JournalEntry.Assign, PartitionId: "p-2", Attempt: 2 });
        Assert.Empty(OutputFolder.DropMissingCommits(paths, "job"));
    }

    [Fact]
    public void Files_in_parts_that_Pipeline_did_not_write_make_the_folder_foreign_even_when_allowed()
    {
        Directory.CreateDirectory(Path.Combine(_out, "parts", "train-Aves-00000"));
        File.WriteAllText(Path.Combine(_out, "parts", "train-Aves-00000", "attempt-1.parquet"), "");
        OutputFolder.CheckOwnership(_out, allowForeignFiles: false);
        File.WriteAllText(Path.Combine(_out, "parts", "train-Aves-00000", "my-notes.txt"), "");
        var refused = Assert.Throws<InvalidDataException>(() => OutputFolder.CheckOwnership(_out, allowForeignFiles: true));
        Assert.Contains("train-Aves-00000/my-notes.txt", refused.Message);
    }

    private PartitionOutcome Commit(string partition, int attempt)
    {
        var part = PartFiles.WriteAttempt(_out, partition, attempt, [], []);
        return new PartitionOutcome(part, "w", new BoxHistogramData(new long[50], 0, 0, 0, 0), [], [], 0, 0);
    }

    private static int DeadPid()
    {
        using var process = System.Diagnostics.Process.Start("true")!;
        process.WaitForExit();
        return process.Id;
    }
}
