using System.Collections.Frozen;

namespace Pipeline.Cluster.Protocol;

/// <summary>
/// The cluster's wire format in one table: every <see cref="IPipelineMessage"/> under a fixed manifest that names the
/// format version, so renaming or moving a record never changes what crosses the network. A message whose JSON changes
/// shape gets a new manifest ("pipeline.v2.WorkAssigned"); nodes of one cluster speak one version, and a node of
/// another version fails with a <see cref="System.Runtime.Serialization.SerializationException"/> naming the manifest
/// instead of misreading it (docs/architecture.md, "Contracts").
/// </summary>
public static class WireFormat
{
    /// <summary>The serializer's id, as cluster-config/base.conf binds it (akka.actor.serialization-identifiers).</summary>
    public const int SerializerId = 4217;

    public static readonly FrozenDictionary<Type, string> Manifests = new Dictionary<Type, string>
    {
        // job control (CLI, HTTP API -> coordinator)
        [typeof(SubmitJob)] = "pipeline.v1.SubmitJob",
        [typeof(JobAccepted)] = "pipeline.v1.JobAccepted",
        [typeof(JobRejected)] = "pipeline.v1.JobRejected",
        [typeof(CancelJob)] = "pipeline.v1.CancelJob",
        [typeof(GetJobStatus)] = "pipeline.v1.GetJobStatus",
        [typeof(GetJob)] = "pipeline.v1.GetJob",
        [typeof(ListJobs)] = "pipeline.v1.ListJobs",
        [typeof(JobList)] = "pipeline.v1.JobList",
        [typeof(JobStatus)] = "pipeline.v1.JobStatus",
        // work pulling (worker <-> coordinator)
        [typeof(RequestWork)] = "pipeline.v1.RequestWork",
        [typeof(WorkAssigned)] = "pipeline.v1.WorkAssigned",
        [typeof(WorkerHeartbeat)] = "pipeline.v1.WorkerHeartbeat",
        [typeof(PartitionCommitted)] = "pipeline.v1.PartitionCommitted",
        [typeof(CommitAck)] = "pipeline.v1.CommitAck",
        [typeof(PartitionFailed)] = "pipeline.v1.PartitionFailed",
        [typeof(ReleasePartition)] = "pipeline.v1.ReleasePartition",
        [typeof(AbandonJob)] = "pipeline.v1.AbandonJob",
    }.ToFrozenDictionary();

    public static readonly FrozenDictionary<string, Type> Types =
        Manifests.ToFrozenDictionary(pair => pair.Value, pair => pair.Key, StringComparer.Ordinal);

    /// <summary>The versions the table holds ("pipeline.v1"): a manifest without its message name.</summary>
    public static readonly string[] Versions = [.. Manifests.Values.Select(m => m[..m.LastIndexOf('.')]).Distinct().Order(StringComparer.Ordinal)];
}
