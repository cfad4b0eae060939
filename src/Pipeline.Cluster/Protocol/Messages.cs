using System.Text.Json;
using System.Text.Json.Serialization;
using Pipeline.Jobs;
using Pipeline.Processing;

namespace Pipeline.Cluster.Protocol;

/// <summary>Marker of every message that crosses nodes; bound to <see cref="PipelineMessageSerializer"/> in cluster-config/base.conf.
/// Each one needs a manifest in <see cref="WireFormat"/> (the contract test fails without it).</summary>
public interface IPipelineMessage;

// ---- job control (CLI, HTTP API -> coordinator singleton) ----

/// <summary>The phases of a job run, in order; a run ends succeeded, failed or cancelled. <see cref="Idle"/>: no job at all.</summary>
[JsonConverter(typeof(SnakeCaseEnumConverter<JobPhase>))]
public enum JobPhase { Idle, Queued, Planning, Running, Merging, Succeeded, Failed, Cancelled }

/// <summary>Why the coordinator refused a request; the API maps each to its HTTP status.</summary>
[JsonConverter(typeof(SnakeCaseEnumConverter<RejectionReason>))]
public enum RejectionReason
{
    /// <summary>The job's settings or inputs are wrong (a missing corpus, an unreadable annotation file): fix and resubmit.</summary>
    Invalid,
    /// <summary>No job with that id is known to this coordinator.</summary>
    UnknownJob,
    /// <summary>The job has already ended; there is nothing to cancel.</summary>
    Finished,
    /// <summary>The job is merging its committed parts into the dataset: it is about to succeed and cannot be cancelled.</summary>
    Merging,
}

/// <summary>A job to run; the same job (same corpus, output folder, model and settings) submitted again gets the same id.</summary>
public sealed record SubmitJob(JobSpec Spec) : IPipelineMessage;

/// <summary>The job's id, and whether it waits in the queue or runs; <paramref name="Run"/> counts the coordinator's runs.</summary>
public sealed record JobAccepted(string JobId, string Output, JobPhase State, int Run) : IPipelineMessage;

public sealed record JobRejected(string Reason, RejectionReason Kind) : IPipelineMessage;

/// <summary>Cancels a queued, planning or running job; "current" names the job the coordinator runs now.</summary>
public sealed record CancelJob(string JobId) : IPipelineMessage;

/// <summary>The current job's status: the one running, else the first queued, else the last one that ran.</summary>
public sealed record GetJobStatus : IPipelineMessage
{
    public static readonly GetJobStatus Instance = new();
}

/// <summary>One job's status (any state); answered with <see cref="JobStatus"/> or <see cref="JobRejected"/>.</summary>
public sealed record GetJob(string JobId) : IPipelineMessage;

/// <summary>Every job the coordinator knows, answered with <see cref="JobList"/>.</summary>
public sealed record ListJobs : IPipelineMessage
{
    public static readonly ListJobs Instance = new();
}

/// <summary>Jobs in submission order: finished ones, the running one, then the queue.</summary>
public sealed record JobList(JobStatus[] Jobs) : IPipelineMessage;

/// <summary>Progress of a job as the coordinator sees it.</summary>
public sealed record JobStatus(
    string? JobId,
    JobPhase State,
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
    public int Run { get; init; }
    public string? Corpus { get; init; }
    public DateTimeOffset? SubmittedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }
    /// <summary>What holds a running job back, e.g. "waiting for workers"; null when nothing does.</summary>
    public string? Waiting { get; init; }
    /// <summary>A problem the user should act on (no worker for more than a minute); null when none.</summary>
    public string? Warning { get; init; }
    /// <summary>What happened to the job, oldest first, each at the time it happened (bounded: see <c>JobTimeline</c>).</summary>
    public JobEvent[] Events { get; init; } = [];
    /// <summary>Images/s over the job, oldest first, bounded in size (older samples merged in pairs).</summary>
    public ThroughputSample[] Throughput { get; init; } = [];

    public bool IsFinished => State is JobPhase.Succeeded or JobPhase.Failed or JobPhase.Cancelled;
}

/// <summary>One thing that happened to a job: <see cref="Kind"/> is info or bad (a failure, a worker lost, a cancel).</summary>
public sealed record JobEvent(DateTimeOffset At, string Kind, string Text);

/// <summary>Images/s of a job over the <see cref="Seconds"/> that end at <see cref="At"/>.</summary>
public sealed record ThroughputSample(DateTimeOffset At, double ImagesPerSecond, double Seconds);

/// <summary>The phases under the names the commands compare against (<c>status.State == JobStates.Succeeded</c>).</summary>
public static class JobStates
{
    public const JobPhase Idle = JobPhase.Idle;
    public const JobPhase Queued = JobPhase.Queued;
    public const JobPhase Planning = JobPhase.Planning;
    public const JobPhase Running = JobPhase.Running;
    public const JobPhase Merging = JobPhase.Merging;
    public const JobPhase Succeeded = JobPhase.Succeeded;
    public const JobPhase Failed = JobPhase.Failed;
    public const JobPhase Cancelled = JobPhase.Cancelled;

    /// <summary>The phase as the API and metrics spell it ("running").</summary>
    public static string Name(JobPhase phase) => JsonNamingPolicy.SnakeCaseLower.ConvertName(phase.ToString());
}

/// <summary>The merged box-size histogram of one (split, super-class) so far.</summary>
public sealed record BoxHistogramSummary(string Split, string Supercategory, long[] Counts, long Boxes);

/// <summary>A worker as one job sees it: <see cref="Partitions"/> it holds and <see cref="ImagesDone"/> for that job
/// (committed plus in flight); <see cref="ImagesPerSecond"/> is the worker's own pace.</summary>
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

/// <summary>A written part, reported until acknowledged (at-least-once; the coordinator deduplicates). The outcome
/// travels as a <see cref="CommitRecord"/>, the journal's format, not as the domain record's own shape.</summary>
public sealed record PartitionCommitted(string JobId, PartitionOutcome Outcome) : IPipelineMessage;

public sealed record CommitAck(string JobId, string PartitionId, int Attempt, CommitVerdict Verdict) : IPipelineMessage;

/// <summary>An attempt that could not produce a part (e.g. the output disk is full); the partition is re-queued.</summary>
public sealed record PartitionFailed(string JobId, string PartitionId, int Attempt, string Worker, string Reason) : IPipelineMessage;

/// <summary>A worker hands a partition back unfinished (graceful shutdown).</summary>
public sealed record ReleasePartition(string JobId, string PartitionId, int Attempt, string Worker) : IPipelineMessage;

/// <summary>The coordinator tells workers to drop every attempt of a job (cancelled, or already committed).</summary>
public sealed record AbandonJob(string JobId) : IPipelineMessage;
