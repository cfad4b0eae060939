using Akka.Actor;
using Akka.Event;
using Pipeline.Cluster.Protocol;
using Pipeline.Jobs;
using Pipeline.Processing;
using Pipeline.Storage;

namespace Pipeline.Cluster.Coordinator;

/// <summary>
/// The cluster singleton that runs jobs one at a time, in the order they were submitted. It routes messages to the pieces
/// that own each concern: the job run and its phases (<see cref="JobRun"/>), the queue and durable history
/// (<see cref="JobHistory"/>), the workers (<see cref="WorkerRegistry"/>), the commit journal (<see cref="CommitRecorder"/>),
/// the running figures (<see cref="JobStatistics"/>) and the status (<see cref="StatusReport"/>).
/// Long work (identifying, planning, checking a part, merging) runs as Tasks piped back with the job and run they
/// belong to; one for a run that is no longer in that phase is dropped and logged.
/// </summary>
public sealed class JobManager : ReceiveActor, IWithTimers
{
    private sealed class Tick : INoSerializationVerificationNeeded { public static readonly Tick Instance = new(); }

    private readonly IJobServices _services;
    private readonly CoordinatorSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly WorkerRegistry _workers = new();
    private readonly LinkedList<JobRun> _queue = new();
    private JobHistory _history;
    private JobRun? _active;
    // the run that ended last keeps its histograms for status after the end
    private JobRun? _last;

    public ITimerScheduler Timers { get; set; } = null!;

    public JobManager(IJobServices services, CoordinatorSettings settings)
    {
        _services = services;
        _settings = settings;
        _history = JobHistory.InMemory(settings.HistoryLimit);

        Receive<SubmitJob>(OnSubmit);
        Receive<SubmissionIdentified>(OnIdentified);
        Receive<SubmissionInvalid>(m => m.Requester.Tell(new JobRejected(m.Reason, RejectionReason.Invalid)));
        Receive<CancelJob>(OnCancel);
        Receive<GetJobStatus>(_ => Sender.Tell(CurrentStatus()));
        Receive<GetJob>(get => Sender.Tell(StatusOf(get.JobId) ?? (object)new JobRejected(
            $"job {get.JobId} is not known to this coordinator " +
            (_history.All.Count == 0 ? "(it has no job)" : $"(it knows {_history.All.Count} job(s): GET /jobs lists them)"),
            RejectionReason.UnknownJob)));
        // the list stays small on the wire: workers and histograms only in the job that runs now
        Receive<ListJobs>(_ => Sender.Tell(new JobList(_history.All.Select(r => StatusOf(r.JobId)!)
            .Select(s => s.JobId == _active?.JobId ? s : s with { Workers = [], Histograms = [] }).ToArray())));
        Receive<RequestWork>(OnRequestWork);
        Receive<WorkerHeartbeat>(OnHeartbeat);
        Receive<PartitionCommitted>(OnCommitted);
        Receive<PartitionFailed>(OnPartitionFailed);
        Receive<ReleasePartition>(OnRelease);
        Receive<Planned>(OnPlanned);
        Receive<PlanFailed>(OnPlanFailed);
        Receive<CommitChecked>(OnCommitChecked);
        Receive<Merged>(OnMerged);
        Receive<MergeFailed>(OnMergeFailed);
        Receive<Terminated>(OnTerminated);
        Receive<Tick>(_ => OnTick());
    }

    protected override void PreStart()
    {
        Timers.StartPeriodicTimer("tick", Tick.Instance, _settings.Tick);
        if (_settings.StateDir is not { } stateDir) return;
        try
        {
            _history = JobHistory.Load(stateDir, _settings.HistoryLimit, out var interrupted);
            foreach (var record in _history.All.Where(r => r.State == JobPhase.Queued).ToList())
            {
                // a run that was under way when the coordinator stopped resumes from its journal under a new run number
                var resumed = interrupted.Exists(i => i.JobId == record.JobId) ? record with { Run = _history.NextRun() } : record;
                if (!ReferenceEquals(resumed, record))
                    _log.Info("resuming job {0} (run {1}) from its journal in {2}", resumed.JobId, resumed.Run, resumed.Spec.Output);
                _history.Update(resumed);
                _queue.AddLast(new JobRun(resumed));
            }
            _log.Info("job history: {0} job(s) in {1}, {2} queued", _history.All.Count, _history.FilePath, _queue.Count);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException or InvalidDataException)
        {
            // never overwrite a history we cannot read: keep this run's in memory and say where the problem is
            _history = JobHistory.InMemory(_settings.HistoryLimit);
            _log.Error(e, "cannot read or create the job history in {0}; jobs are kept in memory only until it is fixed", stateDir);
        }
        StartNext(null);
    }

    protected override void PostStop()
    {
        // a merge under way finishes on its own; planning and the journal stop here
        _active?.Commits?.Dispose();
    }

    // ---- submit, queue, cancel ----

    private void OnSubmit(SubmitJob submit)
    {
        var requester = Sender;
        var spec = submit.Spec;
        // validating and hashing the corpus's annotation files reads them: off the mailbox
        Task.Run(() =>
        {
            try { return (object)new SubmissionIdentified(spec, _services.Identify(spec), requester); }
            catch (Exception e) { return new SubmissionInvalid(e.GetBaseException().Message, requester); }
        }).PipeTo(Self);
    }

    private void OnIdentified(SubmissionIdentified submitted)
    {
        var id = submitted.JobId;
        // the same job again, while it waits or runs: its id, not a second run
        if (FindRun(id) is { } existing)
        {
            submitted.Requester.Tell(new JobAccepted(id, existing.Spec.Output, existing.Phase.Kind, existing.Run));
            return;
        }
        var record = new JobRecord { JobId = id, Run = _history.NextRun(), Spec = submitted.Spec, SubmittedAt = DateTimeOffset.UtcNow };
        var run = new JobRun(record);
        _queue.AddLast(run);
        _history.Enqueue(record);
        if (_active is null && _queue.First!.Value == run)
        {
            // starts at once: answer when it is planned, so a job that cannot be planned is a rejection
            StartNext(submitted.Requester);
            return;
        }
        _log.Info("job {0} (run {1}) queued behind {2} job(s)", id, run.Run, _queue.Count - 1 + (_active is null ? 0 : 1));
        submitted.Requester.Tell(new JobAccepted(id, record.Spec.Output, JobPhase.Queued, run.Run));
    }

    private JobRun? FindRun(string jobId)
    {
        if (_active is { } active && active.JobId == jobId) return active;
        foreach (var run in _queue)
            if (run.JobId == jobId) return run;
        return null;
    }

    private void StartNext(IActorRef? requester)
    {
        if (_active is not null || _queue.First is null) return;
        var run = _queue.First.Value;
        _queue.RemoveFirst();
        _active = run;
        run.StartPlanning(requester, DateTimeOffset.UtcNow);
        _history.Update(run.Record);
        var (jobId, number, spec, token) = (run.JobId, run.Run, run.Spec, run.Cancellation);
        _log.Info("job {0} (run {1}): planning {2} -> {3}", jobId, number, spec.Corpus, spec.Output);
        Task.Run(() => _services.Prepare(spec, token), token).ContinueWith(t => t.IsCompletedSuccessfully
            ? (object)new Planned(jobId, number, t.Result)
            : new PlanFailed(jobId, number, t.Exception?.GetBaseException().Message ?? "cancelled"), TaskScheduler.Default).PipeTo(Self);
    }

    private void OnCancel(CancelJob cancel)
    {
        var id = cancel.JobId == "current" ? _active?.JobId ?? _queue.First?.Value.JobId : cancel.JobId;
        var queued = id is null ? null : _queue.FirstOrDefault(r => r.JobId == id);
        if (queued is not null)
        {
            _queue.Remove(queued);
            Finish(queued, r => r.Cancelled(DateTimeOffset.UtcNow));
            Sender.Tell(StatusOf(queued.JobId)!);
            return;
        }
        if (_active is { } active && active.JobId == id)
        {
            if (active.Phase is MergingPhase)
            {
                Sender.Tell(new JobRejected($"job {id} is merging its committed parts into the dataset and cannot be cancelled now; " +
                                            "it ends in succeeded or failed within moments", RejectionReason.Merging));
                return;
            }
            var status = Finish(active, r => r.Cancelled(DateTimeOffset.UtcNow));
            Sender.Tell(status);
            return;
        }
        Sender.Tell(id is not null && _history.Find(id) is { IsFinished: true } done
            ? new JobRejected($"job {id} has already {JobStates.Name(done.State)}", RejectionReason.Finished)
            : new JobRejected(id is null ? "the coordinator has no job" : $"job {id} is not known to this coordinator", RejectionReason.UnknownJob));
    }

    /// <summary>Ends a run (a transition of <see cref="JobRun"/>), tells workers to drop its attempts and starts the next job.</summary>
    private JobStatus Finish(JobRun run, Action<JobRun> transition)
    {
        var prepared = run.Commits?.Job;
        transition(run);
        _history.Update(run.Record);
        if (prepared is not null) _services.Release(prepared); // the output folder's lock, whatever the end
        if (run.Phase is FinishedPhase { Outcome: not JobPhase.Succeeded })
            _log.Warning("job {0} (run {1}) {2}: {3}", run.JobId, run.Run, JobStates.Name(run.Record.State), run.Record.Error);
        foreach (var worker in _workers.All) worker.Actor.Tell(new AbandonJob(run.JobId));
        if (ReferenceEquals(_active, run)) _active = null;
        _last = run;
        var status = StatusReport.Live(run, _workers, DateTimeOffset.UtcNow, _settings.NoWorkerWarning);
        StartNext(null);
        return status;
    }

    // ---- planning ----

    /// <summary>The active run this message belongs to, in the phase the message expects; otherwise null (and logged).</summary>
    private JobRun? Owner<TPhase>(RunMessage message) where TPhase : RunPhase
    {
        if (_active is { } run && run.Is(message.JobId, message.Run) && run.Phase is TPhase) return run;
        _log.Warning("dropped a stale {0} of job {1} run {2}: the coordinator is at {3}", message.GetType().Name, message.JobId, message.Run,
            _active is null ? "no job" : $"job {_active.JobId} run {_active.Run} ({JobStates.Name(_active.Phase.Kind)})");
        return null;
    }

    private void OnPlanned(Planned planned)
    {
        if (Owner<PlanningPhase>(planned) is not { } run) return;
        var requesters = ((PlanningPhase)run.Phase).Requesters;
        var job = planned.Job;
        if (job.JobId != run.JobId)
        {
            FailPlanning(run, $"the corpus or model changed after job {run.JobId} was submitted (it is now job {job.JobId}); submit it again");
            return;
        }
        CommitRecorder commits;
        try
        {
            commits = CommitRecorder.Open(job, _settings.Lease);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            FailPlanning(run, $"cannot write the job's journal under {job.Spec.Output}: {e.Message}");
            return;
        }
        run.Planned(commits);
        _history.Update(run.Record);
        _log.Info("job {0} (run {1}): {2} images in {3} partitions, {4} already committed",
            job.JobId, run.Run, job.Plan.Images, job.Plan.Partitions.Length, commits.State.Committed);
        foreach (var requester in requesters) requester.Tell(new JobAccepted(job.JobId, job.Spec.Output, JobPhase.Running, run.Run));
        if (commits.IsComplete) StartMerge(run);
        else AssignPending();
    }

    private void OnPlanFailed(PlanFailed failed)
    {
        if (Owner<PlanningPhase>(failed) is not { } run) return;
        FailPlanning(run, failed.Reason);
    }

    private void FailPlanning(JobRun run, string reason)
    {
        _log.Error("job {0} could not be planned: {1}", run.JobId, reason);
        foreach (var requester in ((PlanningPhase)run.Phase).Requesters) requester.Tell(new JobRejected(reason, RejectionReason.Invalid));
        Finish(run, r => r.Failed(reason, DateTimeOffset.UtcNow));
    }

    // ---- workers and leases ----

    private WorkerEntry TouchWorker(string name, string[] roles)
    {
        var entry = _workers.Touch(name, Sender, roles, DateTimeOffset.UtcNow, out var added, out var replaced);
        if (added)
        {
            Context.Watch(Sender);
            _log.Info("worker {0} joined with roles [{1}]", name, string.Join(",", roles));
            _active?.Timeline.Note(DateTimeOffset.UtcNow, "info", $"worker {name} joined [{string.Join(",", roles)}]");
        }
        else if (replaced is not null)
        {
            Context.Unwatch(replaced);
            Context.Watch(Sender);
            // the same name from another actor is a restarted worker (a pod keeps its name): its old incarnation's
            // partitions died with it, and unwatched, its Terminated would never re-queue them before their leases expire
            var released = _active?.Commits?.State.Release(name) ?? [];
            if (released.Count > 0)
                _log.Warning("worker {0} restarted; re-queued {1} partition(s) of its previous incarnation: {2}", name, released.Count,
                    string.Join(", ", released.Select(l => $"{l.PartitionId}#{l.Attempt}")));
        }
        return entry;
    }

    private void OnRequestWork(RequestWork request)
    {
        var entry = TouchWorker(request.Worker, request.Roles);
        entry.Wanted = request.Slots;
        AssignPending();
    }

    private void AssignPending()
    {
        if (_active is not { Phase: RunningPhase running } run) return;
        var now = DateTimeOffset.UtcNow;
        foreach (var worker in _workers.ByPreference)
        {
            while (worker.Wanted > 0)
            {
                var lease = running.Commits.Assign(worker.Name, now);
                if (lease is null) return;
                worker.Wanted--;
                worker.Actor.Tell(new WorkAssigned(run.JobId, run.Spec, running.Commits.State.Info(lease.PartitionId), lease.Attempt, lease.Expires));
            }
        }
    }

    private void OnHeartbeat(WorkerHeartbeat beat)
    {
        var entry = TouchWorker(beat.Worker, beat.Roles);
        entry.ImagesPerSecond = beat.ImagesPerSecond;
        entry.Held = beat.Held;
        entry.Embedding = beat.Embedding;
        entry.Stages = beat.Stages;
        var now = DateTimeOffset.UtcNow;
        foreach (var held in beat.Held)
        {
            if (_active is { Phase: RunningPhase running } run && held.JobId == run.JobId)
            {
                // after a coordinator restart the journal knows the attempt but not its lease: adopt it, don't redo it
                if (!running.Commits.State.Renew(held.PartitionId, held.Attempt, now))
                    running.Commits.State.Adopt(held.PartitionId, held.Attempt, beat.Worker, now);
            }
            else if (_history.Find(held.JobId) is { IsFinished: true })
            {
                Sender.Tell(new AbandonJob(held.JobId));
            }
        }
    }

    private void OnRelease(ReleasePartition release)
    {
        if (_active is not { Phase: RunningPhase running } run || release.JobId != run.JobId) return;
        var released = running.Commits.State.Release(release.Worker, release.PartitionId);
        if (released.Count > 0) _log.Info("{0} handed back {1} attempt {2}", release.Worker, release.PartitionId, release.Attempt);
        AssignPending();
    }

    private void OnTerminated(Terminated terminated)
    {
        if (_workers.Remove(terminated.ActorRef) is not { } gone) return;
        var released = _active?.Commits?.State.Release(gone.Name) ?? [];
        _log.Warning("worker {0} is gone; re-queued {1} partition(s): {2}", gone.Name, released.Count,
            string.Join(", ", released.Select(l => $"{l.PartitionId}#{l.Attempt}")));
        _active?.Timeline.Note(DateTimeOffset.UtcNow, "bad", $"worker {gone.Name} left; {released.Count} partition(s) re-queued");
        AssignPending();
    }

    private void OnTick()
    {
        var now = DateTimeOffset.UtcNow;
        if (_active is { Phase: RunningPhase running } run)
        {
            foreach (var lease in running.Commits.State.ExpireLeases(now))
                _log.Warning("lease of {0} attempt {1} on {2} expired; re-queued", lease.PartitionId, lease.Attempt, lease.Worker);
            AssignPending();
            WatchForWorkers(run, now);
            run.Timeline.Sample(now, StatusReport.ImagesDone(run, running.Commits, _workers));
        }
    }

    /// <summary>A running job with no worker at all says so in its status, and warns (status and log) after a while.</summary>
    private void WatchForWorkers(JobRun run, DateTimeOffset now)
    {
        if (_workers.Count > 0)
        {
            run.NoWorkerSince = null;
            run.WarnedNoWorker = false;
            return;
        }
        run.NoWorkerSince ??= now;
        if (run.WarnedNoWorker || now - run.NoWorkerSince < _settings.NoWorkerWarning) return;
        run.WarnedNoWorker = true;
        _log.Warning("job {0}: {1}", run.JobId, StatusReport.NoWorkerWarning(now - run.NoWorkerSince.Value));
    }

    // ---- commits ----

    private void OnCommitted(PartitionCommitted committed)
    {
        var worker = Sender;
        var outcome = committed.Outcome;
        if (_active is not { } run || run.JobId != committed.JobId || run.Commits is not { } commits)
        {
            worker.Tell(new CommitAck(committed.JobId, outcome.PartitionId, outcome.Attempt, CommitVerdict.Unknown));
            DiscardLatePart(committed);
            return;
        }
        if (commits.AlreadyRecorded(outcome) is { } verdict)
        {
            worker.Tell(new CommitAck(committed.JobId, outcome.PartitionId, outcome.Attempt, verdict));
            if (verdict == CommitVerdict.Duplicate) DeleteDuplicate(run.Spec.Output, commits, outcome);
            return;
        }
        var (jobId, number, output) = (run.JobId, run.Run, run.Spec.Output);
        // checking the part's sha256 reads the whole file: off the mailbox
        Task.Run(() => new CommitChecked(jobId, number, outcome, CommitRecorder.CheckPart(output, outcome), worker)).PipeTo(Self);
    }

    private void OnCommitChecked(CommitChecked check)
    {
        if (_active is not { } run || !run.Is(check.JobId, check.Run) || run.Commits is not { } commits)
        {
            // the worker re-sends until acknowledged; the next copy meets the coordinator as it is now
            Owner<RunningPhase>(check);
            return;
        }
        var outcome = check.Outcome;
        if (check.Problem is not null)
        {
            _log.Warning("rejected commit of {0} attempt {1} from {2}: {3}", outcome.PartitionId, outcome.Attempt, outcome.Worker, check.Problem);
            check.Worker.Tell(new CommitAck(run.JobId, outcome.PartitionId, outcome.Attempt, CommitVerdict.Invalid));
            commits.State.Release(outcome.Worker, outcome.PartitionId);
            AssignPending();
            return;
        }
        // the worker re-sends a commit until it is acknowledged: a second check of the same attempt may arrive after the first was recorded
        if (commits.AlreadyRecorded(outcome) is { } settled)
        {
            check.Worker.Tell(new CommitAck(run.JobId, outcome.PartitionId, outcome.Attempt, settled));
            if (settled == CommitVerdict.Duplicate) DeleteDuplicate(run.Spec.Output, commits, outcome);
            return;
        }
        var verdict = commits.Record(outcome);
        switch (verdict)
        {
            case CommitVerdict.Accepted:
                run.Statistics.Add(commits.State.Info(outcome.PartitionId), outcome);
                _workers.CreditCommit(outcome.Worker, run.JobId, outcome.Rows + outcome.Quarantined);
                run.RefreshCounts();
                break;
            case CommitVerdict.Invalid:
                _log.Warning("rejected commit of {0} attempt {1}: counts do not match the plan", outcome.PartitionId, outcome.Attempt);
                break;
        }
        check.Worker.Tell(new CommitAck(run.JobId, outcome.PartitionId, outcome.Attempt, verdict));
        if (commits.IsComplete && run.Phase is RunningPhase) StartMerge(run);
    }

    /// <summary>Deletes the part of an attempt of a partition whose recorded commit is another attempt's (never the recorded one's).</summary>
    private void DeleteDuplicate(string output, CommitRecorder commits, PartitionOutcome outcome)
    {
        var recorded = commits.State.CommittedAttempt(outcome.PartitionId);
        if (recorded == 0 || recorded == outcome.Attempt) return;
        try
        {
            if (CommitRecorder.DeleteUnrecordedAttempt(output, outcome.PartitionId, outcome.Attempt, jobEnded: false) > 0)
                _log.Info("deleted the unrecorded part of {0} attempt {1} (another attempt is recorded)", outcome.PartitionId, outcome.Attempt);
        }
        catch (IOException e)
        {
            _log.Warning("could not delete the unrecorded part of {0} attempt {1}: {2}", outcome.PartitionId, outcome.Attempt, e.Message);
        }
    }

    /// <summary>
    /// A part reported for a job that has ended (a worker frozen past its lease, woken after the merge): Pipeline wrote it
    /// and no run will read it, so it is deleted, unless the journal recorded that very attempt (a rerun resumes from it)
    /// or the job running now writes to the same folder.
    /// </summary>
    private void DiscardLatePart(PartitionCommitted committed)
    {
        if (_history.Find(committed.JobId) is not { IsFinished: true } record) return;
        var output = record.Spec.Output;
        if (_active is { } active && JobIdentity.OutputKey(active.Spec.Output) == JobIdentity.OutputKey(output)) return;
        var (partition, attempt) = (committed.Outcome.PartitionId, committed.Outcome.Attempt);
        var log = _log;
        Task.Run(() =>
        {
            try
            {
                var journal = CommitJournal.Read(new JobPaths(output).JournalFile);
                if (journal.Exists(e => e.Kind == JournalEntry.Committed && e.PartitionId == partition && e.Attempt == attempt)) return;
                if (CommitRecorder.DeleteUnrecordedAttempt(output, partition, attempt, jobEnded: true) > 0)
                    log.Warning("deleted a late part of job {0} ({1}): {2} attempt {3} came after the job ended", record.JobId,
                        JobStates.Name(record.State), partition, attempt);
            }
            catch (IOException e)
            {
                log.Warning("could not delete a late part of job {0} ({1} attempt {2}): {3}", record.JobId, partition, attempt, e.Message);
            }
        });
    }

    private void OnPartitionFailed(PartitionFailed failed)
    {
        if (_active is not { Phase: RunningPhase running } run || failed.JobId != run.JobId) return;
        var count = run.Statistics.Failed(failed.PartitionId);
        _log.Warning("{0} attempt {1} failed on {2} ({3} in a row): {4}", failed.PartitionId, failed.Attempt, failed.Worker, count, failed.Reason);
        run.Timeline.Note(DateTimeOffset.UtcNow, "bad", $"partition {failed.PartitionId} attempt {failed.Attempt} failed on {failed.Worker}: {failed.Reason}");
        running.Commits.State.Release(failed.Worker, failed.PartitionId);
        if (count >= _settings.MaxAttemptFailures)
        {
            var reason = $"partition {failed.PartitionId} failed {count} times; last error: {failed.Reason}";
            Finish(run, r => r.Failed(reason, DateTimeOffset.UtcNow));
            return;
        }
        AssignPending();
    }

    // ---- merge ----

    private void StartMerge(JobRun run)
    {
        var merging = run.StartMerging();
        _history.Update(run.Record);
        var job = merging.Commits.Job;
        var commits = merging.Commits.State.Commits.ToList();
        var (jobId, number) = (run.JobId, run.Run);
        _log.Info("job {0} (run {1}): every partition is committed; merging {2} parts", jobId, number, commits.Count);
        // not cancellable: cancel is refused while merging, so the merge never publishes a dataset for a cancelled job
        Task.Run(() => _services.Merge(job, commits, CancellationToken.None)).ContinueWith(t =>
            t.IsCompletedSuccessfully
                ? (object)new Merged(jobId, number, t.Result)
                : new MergeFailed(jobId, number, t.Exception?.GetBaseException().Message ?? "cancelled"), TaskScheduler.Default).PipeTo(Self);
    }

    private void OnMerged(Merged merged)
    {
        if (Owner<MergingPhase>(merged) is not { } run) return;
        var commits = run.Commits!;
        var summary = merged.Summary;
        // succeeded only with every partition of its own plan committed and its own manifest and _SUCCESS published
        var problem = !commits.IsComplete ? $"{commits.State.Total - commits.State.Committed} partition(s) are not committed"
            : PublishedDatasetProblem(commits.Job);
        if (problem is not null)
        {
            Finish(run, r => r.Failed("the merge ended but " + problem, DateTimeOffset.UtcNow));
            return;
        }
        _log.Info("job {0} (run {1}) merged: {2} rows, {3} quarantined, {4} files in {5:F1}s",
            run.JobId, run.Run, summary.Rows, summary.Quarantined, summary.Files, summary.Seconds);
        Finish(run, r => r.Succeeded(summary.DatasetDir, DateTimeOffset.UtcNow));
    }

    /// <summary>Null when the job's folder holds a published dataset whose manifest names this job; else what is wrong.</summary>
    private static string? PublishedDatasetProblem(PreparedJob job)
    {
        var paths = new JobPaths(job.Spec.Output);
        if (!File.Exists(paths.SuccessFile)) return $"{paths.SuccessFile} does not exist";
        var manifestPath = Path.Combine(paths.DatasetDir, DatasetMerger.ManifestFile);
        try
        {
            var manifest = DatasetManifest.Parse(File.ReadAllBytes(manifestPath));
            return manifest.Job == job.JobId ? null : $"{manifestPath} names job {manifest.Job}, not {job.JobId}";
        }
        catch (Exception e) when (e is IOException or InvalidDataException or System.Text.Json.JsonException)
        {
            return $"{manifestPath} cannot be read: {e.Message}";
        }
    }

    private void OnMergeFailed(MergeFailed failed)
    {
        if (Owner<MergingPhase>(failed) is not { } run) return;
        Finish(run, r => r.Failed("merge failed: " + failed.Reason, DateTimeOffset.UtcNow));
    }

    // ---- status ----

    private JobStatus CurrentStatus()
    {
        if (_active is not null) return StatusOf(_active.JobId)!;
        if (_queue.First is { } next) return StatusOf(next.Value.JobId)!;
        return _history.Current() is { } record ? StatusOf(record.JobId)! : StatusReport.Idle(_workers);
    }

    private JobStatus? StatusOf(string jobId)
    {
        var now = DateTimeOffset.UtcNow;
        if (_active is { } active && active.JobId == jobId) return StatusReport.Live(active, _workers, now, _settings.NoWorkerWarning);
        if (_history.Find(jobId) is not { } record) return null;
        // the run that ended last, unless the job was submitted again since (then its record is the queued run)
        return _last is { } last && last.Is(record.JobId, record.Run)
            ? StatusReport.Live(last, _workers, now, _settings.NoWorkerWarning)
            : StatusReport.FromRecord(record, _workers, now);
    }
}
