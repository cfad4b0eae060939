using Akka.Actor;
using Pipeline.Cluster.Protocol;

namespace Pipeline.Cluster.Coordinator;

/// <summary>A worker the coordinator hears from: where to reach it, what it asks for and what it holds.</summary>
public sealed class WorkerEntry(string name, IActorRef actor, string[] roles, DateTimeOffset now)
{
    public string Name { get; } = name;
    public IActorRef Actor { get; set; } = actor;
    public string[] Roles { get; set; } = roles;
    /// <summary>Partitions the worker asked for and has not been given yet.</summary>
    public int Wanted { get; set; }
    public DateTimeOffset LastHeartbeat { get; set; } = now;
    public double ImagesPerSecond { get; set; }
    public HeldPartition[] Held { get; set; } = [];
    public EmbeddingTime? Embedding { get; set; }
    public Pipeline.Processing.StageFigures? Stages { get; set; }
    /// <summary>Images of recorded commits by job: a worker's count belongs to a job, not to the worker's lifetime.</summary>
    public Dictionary<string, long> CommittedImages { get; } = new(StringComparer.Ordinal);
    public bool IsGpu => Roles.Contains("gpu");
}

/// <summary>The workers that asked for work or sent a heartbeat, by name (a restarted worker keeps its name). Free of Akka
/// watching: the coordinator watches the actors this registry hands back.</summary>
public sealed class WorkerRegistry
{
    private readonly Dictionary<string, WorkerEntry> _workers = new(StringComparer.Ordinal);

    public int Count => _workers.Count;
    public IEnumerable<WorkerEntry> All => _workers.Values;

    /// <summary>GPU workers first: they embed fastest, so they never wait while a CPU worker takes the work.</summary>
    public IEnumerable<WorkerEntry> ByPreference => _workers.Values.OrderByDescending(w => w.IsGpu);

    /// <summary>
    /// Finds or adds the worker; <paramref name="replaced"/> is the actor of a previous incarnation under the same name
    /// (a restarted process), whose partitions died with it.
    /// </summary>
    public WorkerEntry Touch(string name, IActorRef actor, string[] roles, DateTimeOffset now, out bool added, out IActorRef? replaced)
    {
        replaced = null;
        added = !_workers.TryGetValue(name, out var entry);
        if (entry is null)
        {
            entry = new WorkerEntry(name, actor, roles, now);
            _workers[name] = entry;
        }
        else if (!entry.Actor.Equals(actor))
        {
            replaced = entry.Actor;
            entry.Actor = actor;
            entry.Held = [];
        }
        entry.Roles = roles;
        entry.LastHeartbeat = now;
        return entry;
    }

    /// <summary>Removes the worker whose actor terminated; null when the actor was not (or no longer) a worker's.</summary>
    public WorkerEntry? Remove(IActorRef actor)
    {
        foreach (var (name, worker) in _workers)
        {
            if (!worker.Actor.Equals(actor)) continue;
            _workers.Remove(name);
            return worker;
        }
        return null;
    }

    public void CreditCommit(string worker, string jobId, long images)
    {
        if (_workers.TryGetValue(worker, out var entry))
            entry.CommittedImages[jobId] = entry.CommittedImages.GetValueOrDefault(jobId) + images;
    }

    /// <summary>Images a job has in flight on every worker, for partitions not yet recorded.</summary>
    public long InFlightImages(string jobId, Func<string, bool> isCommitted)
    {
        long images = 0;
        foreach (var worker in _workers.Values)
            foreach (var held in worker.Held)
                if (held.JobId == jobId && !isCommitted(held.PartitionId)) images += held.ImagesDone;
        return images;
    }

    /// <summary>Each worker as <paramref name="jobId"/> sees it: its partitions and images of that job only.</summary>
    public WorkerStatus[] Status(string? jobId, Func<string, bool> isCommitted)
    {
        var status = new List<WorkerStatus>(_workers.Count);
        foreach (var w in _workers.Values.OrderBy(w => w.Name, StringComparer.Ordinal))
        {
            int partitions = 0;
            long images = jobId is null ? 0 : w.CommittedImages.GetValueOrDefault(jobId);
            foreach (var held in w.Held)
            {
                if (held.JobId != jobId || isCommitted(held.PartitionId)) continue;
                partitions++;
                images += held.ImagesDone;
            }
            status.Add(new WorkerStatus(w.Name, w.Roles, partitions, images, w.ImagesPerSecond, w.LastHeartbeat) { Embedding = w.Embedding, Stages = w.Stages });
        }
        return status.ToArray();
    }
}
