using Pipeline.Jobs;

namespace Pipeline.Processing;

/// <summary>A job made ready to run: its identity, where its files are, and its plan.</summary>
public sealed record PreparedJob(string JobId, JobSpec Spec, string ModelSha256, PartitionPlan Plan, CorpusSummary Corpus)
{
    /// <summary>Partitions recorded as committed whose parts were deleted since: queued again by this run.</summary>
    public IReadOnlyList<string> Redone { get; init; } = [];
    /// <summary>The stale owner (a crashed or killed run) whose lock on the output folder this job took over.</summary>
    public OutputLockHolder? TookOverFrom { get; init; }
}

/// <summary>What the corpus reader saw while planning: counts of skipped or odd annotations by kind.</summary>
public sealed record CorpusSummary(long Images, int Categories, Dictionary<string, long> Issues);

/// <summary>One partition attempt handed to a worker.</summary>
public sealed record PartitionWork(string JobId, JobSpec Spec, PartitionInfo Partition, int Attempt, string Worker);

/// <summary>The merged dataset: files, rows, quarantined images and how long the merge took.</summary>
public sealed record MergeSummary(string DatasetDir, int Files, long Rows, long Quarantined, double Seconds);

/// <summary>
/// The computations the cluster orchestrates, free of Akka: plan a job, run one partition attempt, merge the
/// recorded commits. Actors call these off their mailboxes (as Tasks piped back).
/// </summary>
public interface IJobServices
{
    /// <summary>Checks a job's settings and computes its id without planning it (a queued job is answered with its id).</summary>
    string Identify(JobSpec spec);

    /// <summary>Computes the job id and plans it, or loads the plan already written for the same job id.</summary>
    PreparedJob Prepare(JobSpec spec, CancellationToken cancellation);

    /// <summary>Runs one partition attempt on this node and writes its part; reports images done through progress.</summary>
    Task<PartitionOutcome> ExecuteAsync(PartitionWork work, IProgress<int>? progress, CancellationToken cancellation);

    /// <summary>Compacts the recorded commits (and only those) into the dataset, checking input = rows + quarantined.</summary>
    MergeSummary Merge(PreparedJob job, IReadOnlyList<PartitionOutcome> commits, CancellationToken cancellation);

    /// <summary>
    /// Ends a job run in any state (succeeded, failed, cancelled): releases what <see cref="Prepare"/> took, the output
    /// folder's lock. Idempotent. Cancelling the token given to Prepare, or the end of <see cref="Merge"/>, does it too.
    /// </summary>
    void Release(PreparedJob job) { }

    /// <summary>What the embedding batchers of this process did so far (none before the first partition with a model).</summary>
    IReadOnlyList<EmbedderStats> EmbeddingStats() => [];

    /// <summary>The node pipeline's stage figures (busy time, queue depth, bottleneck), or null before any partition ran here.</summary>
    StageFigures? Stages() => null;
}
