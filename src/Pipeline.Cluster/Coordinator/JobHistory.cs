using System.Text.Json;
using Pipeline.Cluster.Protocol;
using Pipeline.Jobs;
using Pipeline.Storage;

namespace Pipeline.Cluster.Coordinator;

/// <summary>One job as the coordinator remembers it: what was asked, its latest run, and where that run stands or how it ended.</summary>
public sealed record JobRecord
{
    public required string JobId { get; init; }
    public required int Run { get; init; }
    public required JobSpec Spec { get; init; }
    public JobPhase State { get; init; } = JobPhase.Queued;
    public DateTimeOffset SubmittedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }
    public int Partitions { get; init; }
    public int Committed { get; init; }
    public long Images { get; init; }
    public long Rows { get; init; }
    public long Quarantined { get; init; }
    public string? Dataset { get; init; }
    public string? Error { get; init; }

    public bool IsFinished => State is JobPhase.Succeeded or JobPhase.Failed or JobPhase.Cancelled;
}

/// <summary>
/// Every job the coordinator knows, in queue order (a resubmitted job goes to the back), kept in <c>jobs.json</c> in the
/// coordinator's state folder and rewritten atomically at each change of a job's state. Loading it after a restart puts
/// the jobs that were planning, running or merging back at the head of the queue: they resume from their journals.
/// </summary>
public sealed class JobHistory
{
    public const string FileName = "jobs.json";

    private readonly List<JobRecord> _records;
    private readonly string? _file;
    private readonly int _limit;

    private JobHistory(List<JobRecord> records, string? file, int limit)
    {
        _records = records;
        _file = file;
        _limit = limit;
        foreach (var record in records) LastRun = Math.Max(LastRun, record.Run);
    }

    public static JobHistory InMemory(int limit = 100) => new([], null, limit);

    /// <summary>Reads the history of <paramref name="stateDir"/> (none yet: empty); the interrupted jobs come back queued, first.</summary>
    public static JobHistory Load(string stateDir, int limit, out List<JobRecord> interrupted)
    {
        var file = Path.Combine(stateDir, FileName);
        var records = File.Exists(file)
            ? JsonSerializer.Deserialize<List<JobRecord>>(File.ReadAllText(file), JobJson.Options)
              ?? throw new InvalidDataException($"{file} is empty")
            : [];
        var underway = records.Where(r => r.State is JobPhase.Planning or JobPhase.Running or JobPhase.Merging).ToList();
        records.RemoveAll(underway.Contains);
        var resumed = underway.Select(r => r with { State = JobPhase.Queued }).ToList();
        interrupted = underway;
        records.InsertRange(records.FindIndex(r => r.State == JobPhase.Queued) is var at and >= 0 ? at : records.Count, resumed);
        return new JobHistory(records, file, limit);
    }

    /// <summary>Where the history is kept; null: in memory only.</summary>
    public string? FilePath => _file;
    public int LastRun { get; private set; }
    public IReadOnlyList<JobRecord> All => _records;

    public int NextRun() => ++LastRun;

    public JobRecord? Find(string jobId) => _records.Find(r => string.Equals(r.JobId, jobId, StringComparison.Ordinal));

    public JobRecord? FirstQueued() => _records.Find(r => r.State == JobPhase.Queued);

    /// <summary>The job the coordinator works on or will work on next, else the last one that ran.</summary>
    public JobRecord? Current() =>
        _records.Find(r => r.State is JobPhase.Planning or JobPhase.Running or JobPhase.Merging)
        ?? FirstQueued()
        ?? _records.Where(r => r.FinishedAt is not null).MaxBy(r => r.FinishedAt);

    /// <summary>Replaces the job's record in place (its state changed).</summary>
    public void Update(JobRecord record)
    {
        var at = _records.FindIndex(r => r.JobId == record.JobId);
        if (at >= 0) _records[at] = record;
        else _records.Add(record);
        Save();
    }

    /// <summary>Adds a job to the back of the queue (a resubmitted finished job leaves its old place).</summary>
    public void Enqueue(JobRecord record)
    {
        _records.RemoveAll(r => r.JobId == record.JobId);
        _records.Add(record);
        Forget();
        Save();
    }

    private void Forget()
    {
        var finished = _records.Count(r => r.IsFinished);
        for (var i = 0; finished > _limit && i < _records.Count;)
        {
            if (_records[i].IsFinished) { _records.RemoveAt(i); finished--; }
            else i++;
        }
    }

    public void Save()
    {
        if (_file is null) return;
        Directory.CreateDirectory(Path.GetDirectoryName(_file)!);
        DurableFiles.WriteAllText(_file, JsonSerializer.Serialize(_records, JobJson.Options));
    }
}
