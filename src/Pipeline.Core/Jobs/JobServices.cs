using Pipeline.Processing;

namespace Pipeline.Jobs;

/// <summary>The real computations behind the cluster, on this node's cores.</summary>
public sealed class JobServices : IJobServices
{
    private readonly int _threads;

    private JobServices(int threads) => _threads = threads;

    public static JobServices Create(int threads) => new(Math.Max(1, threads));

    public PreparedJob Prepare(JobSpec spec, CancellationToken cancellation) => throw new NotImplementedException();

    public Task<PartitionOutcome> ExecuteAsync(PartitionWork work, IProgress<int>? progress, CancellationToken cancellation) =>
        throw new NotImplementedException();

    public MergeSummary Merge(PreparedJob job, IReadOnlyList<PartitionOutcome> commits, CancellationToken cancellation) =>
        throw new NotImplementedException();
}
