namespace Pipeline.Cluster.Coordinator;

/// <summary>Registry key of the JobManager singleton proxy.</summary>
public sealed class JobManagerProxy;
