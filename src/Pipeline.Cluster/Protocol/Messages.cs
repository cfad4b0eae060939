using Pipeline.Jobs;
using Pipeline.Processing;

namespace Pipeline.Cluster.Protocol;

/// <summary>Marker of every message that crosses nodes; bound to <see cref="PipelineMessageSerializer"/>.</summary>
public interface IPipelineMessage;

// ---- job control (CLI, HTTP API -> coordinator singleton) ----

public sealed record SubmitJob(JobSpec Spec) : IPipelineMessage;

public sealed record JobAccepted(string JobId, string Output) : IPipelineMessage;

public sealed record JobRejected(string Reason) : IPipelineMessage;

public sealed record CancelJob(string JobId) : IPipelineMessage;

public sealed record GetJobStatus : IPipelineMessage
{
    public static readonly GetJobStatus Instance = new();
}

/// <summary>Progress of a job as the coordinator sees it. <see cref="State"/>: idle, planning, running, merging,
/// succeeded, failed, cancelled.</summary>
public sealed record JobStatus(
    string? JobId,
    string State,
    string? Output,
    int Partitions,
    int Committed,
    int InFlight,
    int Queued,
    long Images,
    long ImagesDone,
    long Rows,
    long Quarantined,
    double ImagesPerSecond,
    double? EtaSeconds,
    double ElapsedSeconds,
    string? Error,
    string? Dataset,
    Dictionary<string, int> QuarantineByKind,
    BoxHistogramSummary[] Histograms,
    WorkerStatus[] Workers) : IPipelineMessage
{
    public bool IsFinished => State is JobStates.Succeeded or JobStates.Failed or JobStates.Cancelled;
}

public static class JobStates
{
    public const string Idle = "idle";
    public const string Planning = "planning";
    public const string Running = "running";
    public const string Merging = "merging";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";
}

/// <summary>The merged box-size histogram of one (split, super-class) so far.</summary>
public sealed record BoxHistogramSummary(string Split, string Supercategory, long[] Counts, long Boxes);

public sealed record WorkerStatus(
    string Worker,
    string[] Roles,
    int Partitions,
    long ImagesDone,
    double ImagesPerSecond,
    DateTimeOffset LastHeartbeat)
{
    /// <summary>Seconds the worker's model ran a batch, and sat idle waiting for decoded images, since it started.</summary>
    public EmbeddingTime? Embedding { get; init; }

    /// <summary>The worker's pipeline stages as its last heartbeat reported them.</summary>
    public StageFigures? Stages { get; init; }
}

/// <summary>Where an embedding worker's time goes: model busy, model idle (waiting for decode), decode waiting for the model.</summary>
public sealed record EmbeddingTime(string Device, double WallSeconds, double ModelBusySeconds, double DecodeWaitedForModelSeconds)
{
    public double ModelIdleSeconds => Math.Max(0, WallSeconds - ModelBusySeconds);
}

// ---- work pulling (worker <-> coordinator singleton) ----

/// <summary>A worker with free capacity asks for work; the coordinator answers now or when work appears.</summary>
public sealed record RequestWork(string Worker, int Slots, string[] Roles) : IPipelineMessage;

/// <summary>A partition attempt leased to the asking worker.</summary>
public sealed record WorkAssigned(string JobId, JobSpec Spec, PartitionInfo Partition, int Attempt, DateTimeOffset LeaseExpires)
    : IPipelineMessage;

/// <summary>What a worker holds right now; renews its leases, and lets a restarted coordinator adopt running attempts.</summary>
public sealed record WorkerHeartbeat(string Worker, string[] Roles, HeldPartition[] Held, long ImagesDone, double ImagesPerSecond)
    : IPipelineMessage
{
    public EmbeddingTime? Embedding { get; init; }

    /// <summary>The worker's pipeline stages (read, decode, embed, write): busy time, queue depth, images/s, bottleneck.</summary>
    public StageFigures? Stages { get; init; }
}

public sealed record HeldPartition(string JobId, string PartitionId, int Attempt, int ImagesDone);

/// <summary>A written part, reported until acknowledged (at-least-once; the coordinator deduplicates).</summary>
public sealed record PartitionCommitted(string JobId, PartitionOutcome Outcome) : IPipelineMessage;

public sealed record CommitAck(string JobId, string PartitionId, int Attempt, string Verdict) : IPipelineMessage;

/// <summary>An attempt that could not produce a part (e.g. the output disk is full); the partition is re-queued.</summary>
public sealed record PartitionFailed(string JobId, string PartitionId, int Attempt, string Worker, string Reason) : IPipelineMessage;

/// <summary>A worker hands a partition back unfinished (graceful shutdown).</summary>
public sealed record ReleasePartition(string JobId, string PartitionId, int Attempt, string Worker) : IPipelineMessage;

/// <summary>The coordinator tells workers to drop every attempt of a job (cancelled, or already committed).</summary>
public sealed record AbandonJob(string JobId) : IPipelineMessage;

/// <summary>Subscribe the sender to <see cref="JobStatus"/> pushes (the local CLI's progress line).</summary>
public sealed record SubscribeStatus : IPipelineMessage
{
    public static readonly SubscribeStatus Instance = new();
}
