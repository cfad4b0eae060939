using Pipeline.Jobs;

namespace Pipeline.Tests.Jobs;

public class JobStateTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    private static PartitionPlan Plan(params int[] sizes) => new("job",
        sizes.Select((n, i) => new PartitionInfo($"train-Aves-{i:D5}", "train", "Aves", n, 0)).ToArray(), sizes.Sum(), 1);

    private static PartitionOutcome Outcome(Lease lease, int rows, int quarantined = 0) => new(
        new Pipeline.Storage.PartCommit(lease.PartitionId, lease.Attempt, $"parts/{lease.PartitionId}/attempt-{lease.Attempt}.parquet",
            $"parts/{lease.PartitionId}/attempt-{lease.Attempt}.errors.parquet", rows, quarantined, 10, 10, "00", "00"),
        lease.Worker, new BoxHistogramData(new long[50], 0, 0, 0, 0), [], new Dictionary<string, int>(), 0, 1);

    [Fact]
    public void Assigns_each_partition_once_with_increasing_attempts()
    {
        var state = new JobState(Plan(5, 5), TimeSpan.FromSeconds(30));
        var a = state.TryAssign("w1", T0)!;
        var b = state.TryAssign("w2", T0)!;
        Assert.NotEqual(a.PartitionId, b.PartitionId);
        Assert.Equal(1, a.Attempt);
        Assert.Null(state.TryAssign("w3", T0));
        Assert.Equal(2, state.InFlight);
    }

    [Fact]
    public void Expired_lease_requeues_with_a_new_attempt_number()
    {
        var state = new JobState(Plan(5), TimeSpan.FromSeconds(30));
        var first = state.TryAssign("w1", T0)!;
        Assert.Empty(state.ExpireLeases(T0.AddSeconds(29)));
        Assert.Single(state.ExpireLeases(T0.AddSeconds(31)));
        var second = state.TryAssign("w2", T0.AddSeconds(31))!;
        Assert.Equal(first.PartitionId, second.PartitionId);
        Assert.Equal(2, second.Attempt);
    }

    [Fact]
    public void Renewed_lease_does_not_expire()
    {
        var state = new JobState(Plan(5), TimeSpan.FromSeconds(30));
        var lease = state.TryAssign("w1", T0)!;
        Assert.True(state.Renew(lease.PartitionId, lease.Attempt, T0.AddSeconds(25)));
        Assert.Empty(state.ExpireLeases(T0.AddSeconds(40)));
    }

    [Fact]
    public void Lost_worker_partitions_are_requeued_first()
    {
        var state = new JobState(Plan(5, 5, 5), TimeSpan.FromSeconds(30));
        var lost = state.TryAssign("w1", T0)!;
        var released = state.Release("w1");
        Assert.Single(released);
        Assert.Equal(lost.PartitionId, state.TryAssign("w2", T0)!.PartitionId);
    }

    [Fact]
    public void Late_commit_of_an_expired_attempt_is_accepted_and_the_newer_one_is_a_duplicate()
    {
        var state = new JobState(Plan(5), TimeSpan.FromSeconds(30));
        var first = state.TryAssign("w1", T0)!;
        state.ExpireLeases(T0.AddMinutes(1));
        var second = state.TryAssign("w2", T0.AddMinutes(1))!;
        Assert.Equal(CommitVerdict.Accepted, state.Commit(Outcome(first, 5)));
        Assert.Equal(CommitVerdict.Duplicate, state.Commit(Outcome(second, 5)));
        Assert.True(state.IsComplete);
        Assert.Equal(5, state.RowsCommitted);
        Assert.Equal(1, state.CommittedAttempt(first.PartitionId));
    }

    [Fact]
    public void Commit_whose_counts_disagree_with_the_plan_is_invalid()
    {
        var state = new JobState(Plan(5), TimeSpan.FromSeconds(30));
        var lease = state.TryAssign("w1", T0)!;
        Assert.Equal(CommitVerdict.Invalid, state.Commit(Outcome(lease, 4)));
        Assert.Equal(CommitVerdict.Accepted, state.Commit(Outcome(lease, 3, 2)));
    }

    [Fact]
    public void Commit_of_an_attempt_never_handed_out_is_invalid()
    {
        var state = new JobState(Plan(5), TimeSpan.FromSeconds(30));
        var lease = state.TryAssign("w1", T0)!;
        Assert.Equal(CommitVerdict.Invalid, state.Commit(Outcome(lease with { Attempt = 7 }, 5)));
    }

    [Fact]
    public void Restart_from_journal_keeps_commits_and_attempt_numbers()
    {
        var dir = Directory.CreateTempSubdirectory("journal-");
        try
        {
            var path = Path.Combine(dir.FullName, "journal.jsonl");
            var plan = Plan(5, 5);
            Lease done;
            {
                var (journal, entries) = CommitJournal.Open(path);
                Assert.Empty(entries);
                var state = new JobState(plan, TimeSpan.FromSeconds(30), entries);
                done = state.TryAssign("w1", T0)!;
                journal.Append(new JournalEntry(JournalEntry.Assign, done.PartitionId, done.Attempt, "w1"));
                var other = state.TryAssign("w2", T0)!;
                journal.Append(new JournalEntry(JournalEntry.Assign, other.PartitionId, other.Attempt, "w2"));
                var outcome = Outcome(done, 5);
                Assert.Equal(CommitVerdict.Accepted, state.Commit(outcome));
                journal.Append(new JournalEntry(JournalEntry.Committed, done.PartitionId, done.Attempt, "w1", outcome));
                journal.Dispose();
            }
            File.AppendAllText(path, "{\"kind\":\"commit\",\"partit"); // a crash mid-append
            var (reopened, recorded) = CommitJournal.Open(path);
            using (reopened)
            {
                var restarted = new JobState(plan, TimeSpan.FromSeconds(30), recorded);
                restarted.RecountTotals();
                Assert.Equal(1, restarted.Committed);
                Assert.True(restarted.IsCommitted(done.PartitionId));
                var redo = restarted.TryAssign("w3", T0)!;
                Assert.NotEqual(done.PartitionId, redo.PartitionId);
                Assert.Equal(2, redo.Attempt); // attempt 1 of that partition was handed out before the restart
                Assert.Null(restarted.TryAssign("w3", T0));
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Restarted_coordinator_adopts_a_running_attempt_instead_of_redoing_it()
    {
        var plan = Plan(5);
        var entries = new[] { new JournalEntry(JournalEntry.Assign, "train-Aves-00000", 1, "w1") };
        var state = new JobState(plan, TimeSpan.FromSeconds(30), entries);
        Assert.Equal(1, state.Queued);
        Assert.True(state.Adopt("train-Aves-00000", 1, "w1", T0));
        Assert.Equal(0, state.Queued);
        Assert.False(state.Adopt("train-Aves-00000", 9, "w1", T0));
    }
}
