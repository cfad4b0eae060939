
namespace Pipeline.Jobs;

public enum PartitionStatus { Queued, Leased, Committed }

/// <summary>An attempt handed to a worker: it holds the partition until <see cref="Expires"/> unless renewed.</summary>
public sealed record Lease(string PartitionId, int Attempt, string Worker, DateTimeOffset Expires);

/// <summary>The coordinator's answer to a commit: recorded, a later copy of a recorded partition, not of a job or partition
/// it runs, or a part that does not match its plan or its own checksum.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(SnakeCaseEnumConverter<CommitVerdict>))]
public enum CommitVerdict { Accepted, Duplicate, Unknown, Invalid }

/// <summary>
/// The coordinator's bookkeeping for one job, free of Akka so it is tested directly: a queue of partitions, leases
/// with expiry, attempts numbered per partition, and the first valid commit of each partition.
/// </summary>
public sealed class JobState
{
    private sealed class Slot(PartitionInfo info)
    {
        public PartitionInfo Info { get; } = info;
        public PartitionStatus Status { get; set; } = PartitionStatus.Queued;
        public int LastAttempt { get; set; }
        public List<Lease> Leases { get; } = [];
        public PartitionOutcome? Commit { get; set; }
    }

    private readonly Dictionary<string, Slot> _slots = new(StringComparer.Ordinal);
    private readonly LinkedList<string> _queue = new();
    private readonly TimeSpan _leaseDuration;

    public JobState(PartitionPlan plan, TimeSpan leaseDuration, IEnumerable<JournalEntry>? journal = null)
    {
        Plan = plan;
        _leaseDuration = leaseDuration;
        foreach (var info in plan.Partitions) _slots[info.Id] = new Slot(info);
        if (journal is not null)
        {
            foreach (var entry in journal)
            {
                if (!_slots.TryGetValue(entry.PartitionId, out var slot)) continue;
                slot.LastAttempt = Math.Max(slot.LastAttempt, entry.Attempt);
                if (entry.Kind == JournalEntry.Committed && entry.Commit is not null && slot.Commit is null)
                {
                    slot.Commit = entry.Commit;
                    slot.Status = PartitionStatus.Committed;
                }
            }
        }
        foreach (var info in plan.Partitions)
            if (_slots[info.Id].Status == PartitionStatus.Queued) _queue.AddLast(info.Id);
    }

    public PartitionPlan Plan { get; }
    public int Total => _slots.Count;
    public int Committed { get; private set; }
    public int Queued => _queue.Count;
    public int InFlight => Total - Committed - Queued;
    public bool IsComplete => Committed == Total;

    public long ImagesCommitted { get; private set; }
    public long RowsCommitted { get; private set; }
    public long QuarantinedCommitted { get; private set; }

    public IEnumerable<PartitionOutcome> Commits
    {
        get
        {
            foreach (var info in Plan.Partitions)
                if (_slots[info.Id].Commit is { } commit) yield return commit;
        }
    }

    public PartitionInfo Info(string partitionId) => _slots[partitionId].Info;

    /// <summary>Recounts totals from recorded commits (after a restart).</summary>
    public void RecountTotals()
    {
        Committed = 0; ImagesCommitted = 0; RowsCommitted = 0; QuarantinedCommitted = 0;
        foreach (var slot in _slots.Values)
        {
            if (slot.Commit is not { } commit) continue;
            Committed++;
            RowsCommitted += commit.Rows;
            QuarantinedCommitted += commit.Quarantined;
            ImagesCommitted += commit.Rows + commit.Quarantined;
        }
    }

    /// <summary>Hands the next queued partition to a worker with a fresh attempt number, or null when none is queued.</summary>
    public Lease? TryAssign(string worker, DateTimeOffset now)
    {
        var first = _queue.First;
        if (first is null) return null;
        _queue.RemoveFirst();
        var slot = _slots[first.Value];
        slot.LastAttempt++;
        slot.Status = PartitionStatus.Leased;
        var lease = new Lease(slot.Info.Id, slot.LastAttempt, worker, now + _leaseDuration);
        slot.Leases.Add(lease);
        return lease;
    }

    /// <summary>Extends a live lease; false when the attempt no longer holds the partition.</summary>
    public bool Renew(string partitionId, int attempt, DateTimeOffset now)
    {
        if (!_slots.TryGetValue(partitionId, out var slot) || slot.Status != PartitionStatus.Leased) return false;
        for (var i = 0; i < slot.Leases.Count; i++)
        {
            if (slot.Leases[i].Attempt != attempt) continue;
            slot.Leases[i] = slot.Leases[i] with { Expires = now + _leaseDuration };
            return true;
        }
        return false;
    }

    /// <summary>Re-queues partitions whose every lease has expired; returns the expired leases.</summary>
    public List<Lease> ExpireLeases(DateTimeOffset now)
    {
        var expired = new List<Lease>();
        foreach (var slot in _slots.Values)
        {
            if (slot.Status != PartitionStatus.Leased) continue;
            expired.AddRange(slot.Leases.Where(l => l.Expires <= now));
            slot.Leases.RemoveAll(l => l.Expires <= now);
            if (slot.Leases.Count == 0) Requeue(slot);
        }
        return expired;
    }

    /// <summary>Re-queues everything a lost worker held (DeathWatch, a downed node, or a graceful hand-back).</summary>
    public List<Lease> Release(string worker, string? partitionId = null)
    {
        var released = new List<Lease>();
        foreach (var slot in _slots.Values)
        {
            if (slot.Status != PartitionStatus.Leased) continue;
            if (partitionId is not null && slot.Info.Id != partitionId) continue;
            released.AddRange(slot.Leases.Where(l => l.Worker == worker));
            slot.Leases.RemoveAll(l => l.Worker == worker);
            if (slot.Leases.Count == 0) Requeue(slot);
        }
        return released;
    }

    /// <summary>
    /// Records the first valid commit of a partition, whichever attempt it comes from (a late attempt whose lease expired
    /// is still a correct part); every later commit of the same partition is a duplicate that the merge never reads.
    /// </summary>
    public CommitVerdict Commit(PartitionOutcome outcome)
    {
        if (!_slots.TryGetValue(outcome.PartitionId, out var slot)) return CommitVerdict.Unknown;
        if (slot.Status == PartitionStatus.Committed) return CommitVerdict.Duplicate;
        if (outcome.Attempt < 1 || outcome.Attempt > slot.LastAttempt) return CommitVerdict.Invalid;
        if (outcome.Rows + outcome.Quarantined != slot.Info.Images) return CommitVerdict.Invalid;
        if (slot.Status == PartitionStatus.Queued) _queue.Remove(slot.Info.Id);
        slot.Status = PartitionStatus.Committed;
        slot.Commit = outcome;
        slot.Leases.Clear();
        Committed++;
        RowsCommitted += outcome.Rows;
        QuarantinedCommitted += outcome.Quarantined;
        ImagesCommitted += outcome.Rows + outcome.Quarantined;
        return CommitVerdict.Accepted;
    }

    public bool IsCommitted(string partitionId) =>
        _slots.TryGetValue(partitionId, out var slot) && slot.Status == PartitionStatus.Committed;

    public int CommittedAttempt(string partitionId) =>
        _slots.TryGetValue(partitionId, out var slot) && slot.Commit is { } commit ? commit.Attempt : 0;

    /// <summary>
    /// A worker reports an attempt this coordinator does not hold a lease for (it restarted): if the partition is still
    /// queued and the attempt was handed out before, the running attempt keeps it instead of starting over.
    /// </summary>
    public bool Adopt(string partitionId, int attempt, string worker, DateTimeOffset now)
    {
        if (!_slots.TryGetValue(partitionId, out var slot)) return false;
        if (slot.Status == PartitionStatus.Committed || attempt < 1 || attempt > slot.LastAttempt) return false;
        if (slot.Leases.Exists(l => l.Attempt == attempt)) return false;
        if (slot.Status == PartitionStatus.Queued) _queue.Remove(slot.Info.Id);
        slot.Status = PartitionStatus.Leased;
        slot.Leases.Add(new Lease(partitionId, attempt, worker, now + _leaseDuration));
        return true;
    }

    private void Requeue(Slot slot)
    {
        slot.Status = PartitionStatus.Queued;
        _queue.AddFirst(slot.Info.Id); // redo lost work first so a straggler partition does not hold the merge back
    }
}
