using Akka.Actor;
using Pipeline.Cluster.Protocol;
using Pipeline.Jobs;

namespace Pipeline.Cluster.Coordinator;

/// <summary>A phase of a job run; each holds exactly what the run needs in it, so no handler re-checks nullable fields.</summary>
public abstract record RunPhase(JobPhase Kind);

/// <summary>Waiting for the job ahead of it.</summary>
public sealed record QueuedPhase() : RunPhase(JobPhase.Queued);

/// <summary>The plan is being made (or loaded) off the mailbox; <paramref name="Requesters"/> are answered when it is.</summary>
public sealed record PlanningPhase(List<IActorRef> Requesters) : RunPhase(JobPhase.Planning);

/// <summary>Partitions are leased to workers and their commits recorded.</summary>
public sealed record RunningPhase(CommitRecorder Commits) : RunPhase(JobPhase.Running);

/// <summary>Every partition is committed; the merge runs off the mailbox. A merge is not cancelled: it ends in succeeded or failed.</summary>
public sealed record MergingPhase(CommitRecorder Commits) : RunPhase(JobPhase.Merging);

/// <summary>The run ended: succeeded, failed or cancelled.</summary>
public sealed record FinishedPhase(JobPhase Outcome) : RunPhase(Outcome);

/// <summary>
/// One run of a job through its phases: queued → planning → running → merging → succeeded, and failed or cancelled from
/// any phase before the end (cancelled not from merging). Every transition checks the phase it leaves, so a message that
/// arrives for another phase cannot move the run; its <see cref="Record"/> follows each transition for the history.
/// </summary>
public sealed class JobRun(JobRecord record)
{
    private readonly CancellationTokenSource _cancellation = new();

    public JobRecord Record { get; private set; } = record;
    public RunPhase Phase { get; private set; } = new QueuedPhase();
    public JobStatistics Statistics { get; } = new();
    /// <summary>What happened to this run and its throughput over time, each at its real time.</summary>
    public JobTimeline Timeline { get; } = NewTimeline(record);
    public string JobId => Record.JobId;
    public int Run => Record.Run;
    public JobSpec Spec => Record.Spec;
    /// <summary>Cancelled when the run is cancelled or fails: planning stops.</summary>
    public CancellationToken Cancellation => _cancellation.Token;
    /// <summary>Since when the running job has had no worker at all; null while it has one.</summary>
    public DateTimeOffset? NoWorkerSince { get; set; }
    public bool WarnedNoWorker { get; set; }

    public bool Is(string jobId, int run) => Run == run && string.Equals(JobId, jobId, StringComparison.Ordinal);

    /// <summary>The recorder of a running or merging run, else null.</summary>
    public CommitRecorder? Commits => Phase switch
    {
        RunningPhase r => r.Commits,
        MergingPhase m => m.Commits,
        _ => null,
    };

    public PlanningPhase StartPlanning(IActorRef? requester, DateTimeOffset now)
    {
        Expect<QueuedPhase>();
        var planning = new PlanningPhase(requester is null || requester.IsNobody() ? [] : [requester]);
        Phase = planning;
        Record = Record with { State = JobPhase.Planning, StartedAt = now, FinishedAt = null, Error = null, Dataset = null };
        Timeline.Note(now, "info", "job started: planning");
        return planning;
    }

    public RunningPhase Planned(CommitRecorder commits)
    {
        Expect<PlanningPhase>();
        var running = new RunningPhase(commits);
        Phase = running;
        foreach (var commit in commits.State.Commits) Statistics.Add(commits.State.Info(commit.PartitionId), commit);
        Record = Record with { State = JobPhase.Running, Partitions = commits.State.Total, Images = commits.Job.Plan.Images };
        RefreshCounts();
        var now = DateTimeOffset.UtcNow;
        Timeline.Note(now, "info", $"job running: {commits.State.Total} partitions, {commits.Job.Plan.Images} images" +
            (commits.State.Committed > 0 ? $", {commits.State.Committed} committed before" : ""));
        Timeline.StartSeries(now, commits.State.ImagesCommitted);
        return running;
    }

    public MergingPhase StartMerging()
    {
        var running = Expect<RunningPhase>();
        if (!running.Commits.IsComplete) throw new InvalidOperationException($"job {JobId} run {Run} cannot merge: not every partition is committed");
        var merging = new MergingPhase(running.Commits);
        Phase = merging;
        Record = Record with { State = JobPhase.Merging };
        var now = DateTimeOffset.UtcNow;
        Timeline.LastSample(now, running.Commits.State.ImagesCommitted);
        Timeline.Note(now, "info", "every partition committed: merging");
        return merging;
    }

    public void Succeeded(string dataset, DateTimeOffset now)
    {
        var merging = Expect<MergingPhase>();
        RefreshCounts();
        merging.Commits.Dispose();
        Phase = new FinishedPhase(JobPhase.Succeeded);
        Record = Record with { State = JobPhase.Succeeded, FinishedAt = now, Dataset = dataset };
        Timeline.Note(now, "info", "job succeeded: dataset " + dataset);
    }

    public void Failed(string reason, DateTimeOffset now) => End(JobPhase.Failed, reason, now);

    public void Cancelled(DateTimeOffset now)
    {
        if (Phase is MergingPhase) throw new InvalidOperationException($"job {JobId} is merging and cannot be cancelled");
        End(JobPhase.Cancelled, "cancelled by request", now);
    }

    private void End(JobPhase outcome, string reason, DateTimeOffset now)
    {
        if (Phase is FinishedPhase) throw new InvalidOperationException($"job {JobId} run {Run} has already {Record.State}");
        RefreshCounts();
        Commits?.Dispose();
        _cancellation.Cancel();
        Phase = new FinishedPhase(outcome);
        Record = Record with { State = outcome, FinishedAt = now, Error = reason };
        Timeline.Note(now, "bad", $"job {JobStates.Name(outcome)}: {reason}");
    }

    /// <summary>Copies the recorded counts into the record (after each accepted commit).</summary>
    public void RefreshCounts()
    {
        if (Commits is not { } commits) return;
        var state = commits.State;
        Record = Record with { Committed = state.Committed, Rows = state.RowsCommitted, Quarantined = state.QuarantinedCommitted };
    }

    private static JobTimeline NewTimeline(JobRecord record)
    {
        var timeline = new JobTimeline();
        timeline.Note(record.SubmittedAt, "info", $"job {record.JobId} queued (run {record.Run})");
        return timeline;
    }

    private T Expect<T>() where T : RunPhase =>
        Phase as T ?? throw new InvalidOperationException($"job {JobId} run {Run} is {Phase.Kind}, not {typeof(T).Name}");
}
