using System.Security.Cryptography;
using Pipeline.Jobs;
using Pipeline.Processing;
using Pipeline.Storage;

namespace Pipeline.Cluster.Coordinator;

/// <summary>
/// A running job's partitions and its durable journal together: every attempt handed out and every first valid commit is
/// appended (fsynced) before a worker hears of it, so a restarted coordinator resumes with the same commits and never
/// reuses an attempt number. Checking a part reads the whole file: callers run <see cref="CheckPart"/> off the mailbox.
/// </summary>
public sealed class CommitRecorder : IDisposable
{
    private readonly CommitJournal _journal;

    private CommitRecorder(PreparedJob job, JobState state, CommitJournal journal)
    {
        Job = job;
        State = state;
        _journal = journal;
    }

    public PreparedJob Job { get; }
    public JobState State { get; }
    public bool IsComplete => State.IsComplete;

    /// <summary>Opens the job's journal and replays it: commits recorded by an earlier run count.</summary>
    public static CommitRecorder Open(PreparedJob job, TimeSpan lease)
    {
        var paths = new JobPaths(job.Spec.Output);
        Directory.CreateDirectory(paths.StateDir);
        DurableFiles.WriteAllText(paths.JobFile, job.Spec.ToJson());
        var (journal, entries) = CommitJournal.Open(paths.JournalFile);
        var state = new JobState(job.Plan, lease, entries);
        state.RecountTotals();
        return new CommitRecorder(job, state, journal);
    }

    /// <summary>Leases the next queued partition to <paramref name="worker"/>, recorded before it is sent.</summary>
    public Lease? Assign(string worker, DateTimeOffset now)
    {
        var lease = State.TryAssign(worker, now);
        if (lease is not null) _journal.Append(new JournalEntry(JournalEntry.Assign, lease.PartitionId, lease.Attempt, worker));
        return lease;
    }

    /// <summary>The verdict on a commit of a partition already recorded (the recorded attempt again, or another one), else null.</summary>
    public CommitVerdict? AlreadyRecorded(PartitionOutcome outcome) =>
        !State.IsCommitted(outcome.PartitionId) ? null
        : State.CommittedAttempt(outcome.PartitionId) == outcome.Attempt ? CommitVerdict.Accepted : CommitVerdict.Duplicate;

    /// <summary>Records the first valid commit of a partition in the journal; the verdict says whether it was.</summary>
    public CommitVerdict Record(PartitionOutcome outcome)
    {
        var verdict = State.Commit(outcome);
        if (verdict == CommitVerdict.Accepted)
            _journal.Append(new JournalEntry(JournalEntry.Committed, outcome.PartitionId, outcome.Attempt, outcome.Worker, outcome));
        return verdict;
    }

    /// <summary>Null when the commit's histogram is well formed and the part's files exist with the size and sha256 the commit
    /// states; else what is wrong.</summary>
    public static string? CheckPart(string output, PartitionOutcome outcome)
    {
        var part = outcome.Part;
        return PartitionHistograms.Problem(outcome.Histogram)
               ?? CheckFile(output, part.RowsPath, part.RowsBytes, part.RowsSha256)
               ?? CheckFile(output, part.ErrorsPath, part.ErrorsBytes, part.ErrorsSha256);
    }

    private static string? CheckFile(string output, string relativePath, long bytes, string sha256)
    {
        var path = PartFiles.Resolve(output, relativePath);
        if (!File.Exists(path)) return $"part {relativePath} does not exist";
        using var stream = File.OpenRead(path);
        if (stream.Length != bytes) return $"part {relativePath} has {stream.Length} bytes, the commit says {bytes}";
        var actual = Convert.ToHexStringLower(SHA256.HashData(stream));
        return string.Equals(actual, sha256, StringComparison.OrdinalIgnoreCase) ? null : $"part {relativePath} has sha256 {actual}, the commit says {sha256}";
    }

    /// <summary>
    /// Deletes the files of an attempt that will never be recorded (a frozen worker's late part, after another attempt
    /// was recorded or the job ended), and its partition folder when that leaves it empty (and <c>parts/</c> once the job ended). Only the attempt's own part
    /// names under <c>OUT/parts/</c> are touched, rebuilt from the partition id and attempt, never the paths a worker sent.
    /// </summary>
    public static int DeleteUnrecordedAttempt(string output, string partitionId, int attempt, bool jobEnded)
    {
        string rows, errors;
        try
        {
            rows = PartFiles.Resolve(output, PartFiles.RowsRelativePath(partitionId, attempt));
            errors = PartFiles.Resolve(output, PartFiles.ErrorsRelativePath(partitionId, attempt));
        }
        catch (ArgumentException)
        {
            return 0; // not a name Pipeline writes: not ours to delete
        }
        var deleted = 0;
        foreach (var file in new[] { rows, errors })
        {
            if (!File.Exists(file)) continue;
            File.Delete(file);
            deleted++;
        }
        var folder = Path.GetDirectoryName(rows)!;
        if (Directory.Exists(folder) && !Directory.EnumerateFileSystemEntries(folder).Any()) Directory.Delete(folder);
        var parts = Path.GetDirectoryName(folder)!;
        // while the job runs other attempts may be creating their folders in parts/
        if (jobEnded && Directory.Exists(parts) && !Directory.EnumerateFileSystemEntries(parts).Any()) Directory.Delete(parts);
        return deleted;
    }

    public void Dispose() => _journal.Dispose();
}
