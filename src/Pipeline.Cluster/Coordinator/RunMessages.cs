using Akka.Actor;
using Pipeline.Jobs;
using Pipeline.Processing;

namespace Pipeline.Cluster.Coordinator;

/// <summary>
/// The coordinator's messages to itself: results of work it ran off its mailbox, piped back. Each one of a run names the
/// job and run it belongs to; the coordinator drops (and logs) one whose run is not the run in that phase any more.
/// </summary>
public abstract record RunMessage(string JobId, int Run) : INoSerializationVerificationNeeded;

/// <summary>The job's plan is ready (made now, or loaded from an earlier run).</summary>
public sealed record Planned(string JobId, int Run, PreparedJob Job) : RunMessage(JobId, Run);

public sealed record PlanFailed(string JobId, int Run, string Reason) : RunMessage(JobId, Run);

/// <summary>A commit's part files were read back: <paramref name="Problem"/> is null when size and sha256 match.</summary>
public sealed record CommitChecked(string JobId, int Run, PartitionOutcome Outcome, string? Problem, IActorRef Worker) : RunMessage(JobId, Run);

public sealed record Merged(string JobId, int Run, MergeSummary Summary) : RunMessage(JobId, Run);

public sealed record MergeFailed(string JobId, int Run, string Reason) : RunMessage(JobId, Run);

/// <summary>A submitted job checked and identified (before it has a run).</summary>
public sealed record SubmissionIdentified(JobSpec Spec, string JobId, IActorRef Requester) : INoSerializationVerificationNeeded;

/// <summary>A submitted job whose settings or inputs are wrong.</summary>
public sealed record SubmissionInvalid(string Reason, IActorRef Requester) : INoSerializationVerificationNeeded;
