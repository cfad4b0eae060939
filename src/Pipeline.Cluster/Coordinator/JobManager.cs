using System.Security.Cryptography;
using Akka.Actor;
using Akka.Event;
using Pipeline.Cluster.Protocol;
using Pipeline.Jobs;
using Pipeline.Processing;
using Pipeline.Storage;

namespace Pipeline.Cluster.Coordinator;

public sealed record CoordinatorSettings(TimeSpan Lease, TimeSpan Tick, int MaxAttemptFailures, string? StateDir);

/// <summary>
/// The cluster singleton that owns a job: plans it into partitions, hands them out to workers that ask (work pulling
/// with leases), re-queues the work of lost workers and expired leases, records each partition's first valid commit in
/// the durable journal, and merges the recorded parts when every partition is committed.
/// Long work (planning, checksum, merge) runs as Tasks piped back; the mailbox never blocks on it.
/// </summary>
public sealed class JobManager : ReceiveActor, IWithTimers
{
    private sealed class WorkerEntry(IActorRef actor, string[] roles)
    {
        public IActorRef Actor { get; set; } = actor;
        public string[] Roles { get; set; } = roles;
        public int Wanted { get; set; }
        public DateTimeOffset LastHeartbeat { get; set; } = DateTimeOffset.UtcNow;
        public long ImagesDone { get; set; }
        public double ImagesPerSecond { get; set; }
        public HeldPartition[] Held { get; set; } = [];
        public EmbeddingTime? Embedding { get; set; }
        public Pipeline.Processing.StageFigures? Stages { get; set; }
    }

    private sealed record Identified(JobSpec Spec, PreparedJob Job, IActorRef Requester) : INoSerializationVerificationNeeded;
    private sealed record PrepareFailed(string Reason, IActorRef Requester) : INoSerializationVerificationNeeded;
    private sealed record CommitChecked(PartitionOutcome Outcome, string? Problem, IActorRef Worker) : INoSerializationVerificationNeeded;
    private sealed record Merged(MergeSummary Summary) : INoSerializationVerificationNeeded;
    private sealed record MergeFailed(string Reason) : INoSerializationVerificationNeeded;
    private sealed class Tick : INoSerializationVerificationNeeded { public static readonly Tick Instance = new(); }

    private readonly IJobServices _services;
    private readonly CoordinatorSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, WorkerEntry> _workers = new(StringComparer.Ordinal);
    private readonly HashSet<IActorRef> _subscribers = [];
    private readonly Dictionary<string, int> _failures = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Split, string Super), (long[] Counts, long Boxes)> _histograms = new();
    private readonly Dictionary<string, int> _quarantineByKind = new(StringComparer.Ordinal);

    private string _state = JobStates.Idle;
    private PreparedJob? _job;
    private JobState? _jobState;
    private CommitJournal? _journal;
    private string? _error;
    private MergeSummary? _merged;
    private DateTimeOffset _startedAt;
    private DateTimeOffset? _finishedAt;
    private CancellationTokenSource _cancellation = new();
    // images/s over the last 30 s, so the ETA follows the current pace rather than the whole job's average
    private readonly RateWindow _rateWindow = new(TimeSpan.FromSeconds(30));

    public ITimerScheduler Timers { get; set; } = null!;

    public JobManager(IJobServices services, CoordinatorSettings settings)
    {
        _services = services;
        _settings = settings;

        Receive<SubmitJob>(OnSubmit);
        Receive<Identified>(OnPrepared);
        Receive<PrepareFailed>(f =>
        {
            _log.Error("job could not be planned: {0}", f.Reason);
            Fail(f.Reason);
            f.Requester.Tell(new JobRejected(f.Reason));
        });
        Receive<CancelJob>(OnCancel);
        Receive<GetJobStatus>(_ => Sender.Tell(BuildStatus()));
        Receive<SubscribeStatus>(_ =>
        {
            _subscribers.Add(Sender);
            Context.Watch(Sender);
            Sender.Tell(BuildStatus());
        });
        Receive<RequestWork>(OnRequestWork);
        Receive<WorkerHeartbeat>(OnHeartbeat);
        Receive<PartitionCommitted>(OnCommitted);
        Receive<CommitChecked>(OnCommitChecked);
        Receive<PartitionFailed>(OnPartitionFailed);
        Receive<ReleasePartition>(r =>
        {
            if (_jobState is null || r.JobId != _job?.JobId) return;
            var released = _jobState.Release(r.Worker, r.PartitionId);
            if (released.Count > 0) _log.Info("{0} handed back {1} attempt {2}", r.Worker, r.PartitionId, r.Attempt);
            AssignPending();
        });
        Receive<Merged>(m =>
        {
            _merged = m.Summary;
            _state = JobStates.Succeeded;
            _finishedAt = DateTimeOffset.UtcNow;
            _log.Info("job {0} merged: {1} rows, {2} quarantined, {3} files in {4:F1}s",
                _job?.JobId, m.Summary.Rows, m.Summary.Quarantined, m.Summary.Files, m.Summary.Seconds);
            PushStatus();
        });
        Receive<MergeFailed>(m =>
        {
            _log.Error("merge failed: {0}", m.Reason);
            Fail("merge failed: " + m.Reason);
        });
        Receive<Terminated>(OnTerminated);
        Receive<Tick>(_ => OnTick());
    }

    protected override void PreStart()
    {
        Timers.StartPeriodicTimer("tick", Tick.Instance, _settings.Tick);
        // A coordinator restarted mid-job (or handed over to another node) resumes the job it was running.
        var current = CurrentJobFile();
        if (current is not null && File.Exists(current))
        {
            try
            {
                var spec = JobSpec.FromJson(File.ReadAllText(current), current);
                _log.Info("resuming the job recorded in {0}", current);
                Self.Tell(new SubmitJob(spec), ActorRefs.NoSender);
            }
            catch (Exception e)
            {
                _log.Error(e, "could not resume the job recorded in {0}", current);
            }
        }
    }

    protected override void PostStop()
    {
        _cancellation.Cancel();
        _journal?.Dispose();
    }

    private string? CurrentJobFile() =>
        string.IsNullOrEmpty(_settings.StateDir) ? null : Path.Combine(_settings.StateDir, "current-job.json");

    private bool Busy => _state is JobStates.Planning or JobStates.Running or JobStates.Merging;

    private void OnSubmit(SubmitJob submit)
    {
        var requester = Sender;
        if (Busy)
        {
            // the same job again (a resubmitted one-shot job, a retried HTTP call) is not an error
            if (_job is not null && _job.Spec == submit.Spec)
            {
                requester.Tell(new JobAccepted(_job.JobId, _job.Spec.Output));
                return;
            }
            requester.Tell(new JobRejected($"the cluster is busy with job {_job?.JobId ?? "(planning)"}; cancel it or wait"));
            return;
        }
        ResetJob();
        _state = JobStates.Planning;
        _startedAt = DateTimeOffset.UtcNow;
        var spec = submit.Spec;
        var token = _cancellation.Token;
        var self = Self;
        Task.Run(() => _services.Prepare(spec, token), token).ContinueWith(t =>
        {
            if (t.IsCompletedSuccessfully) return (object)new Identified(spec, t.Result, requester);
            var reason = t.Exception?.GetBaseException().Message ?? "cancelled";
            return new PrepareFailed(reason, requester);
        }, TaskScheduler.Default).PipeTo(self);
    }

    private void ResetJob()
    {
        _journal?.Dispose();
        _journal = null;
        _job = null;
        _jobState = null;
        _error = null;
        _merged = null;
        _finishedAt = null;
        _failures.Clear();
        _histograms.Clear();
        _quarantineByKind.Clear();
        _rateWindow.Clear();
        _cancellation.Cancel();
        _cancellation = new CancellationTokenSource();
    }

    private void OnPrepared(Identified prepared)
    {
        if (_state != JobStates.Planning) return; // cancelled meanwhile
        var job = prepared.Job;
        var paths = new JobPaths(job.Spec.Output);
        Directory.CreateDirectory(paths.StateDir);
        AtomicFile.WriteAllText(paths.JobFile, job.Spec.ToJson());
        if (CurrentJobFile() is { } current)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(current)!);
            AtomicFile.WriteAllText(current, job.Spec.ToJson());
        }
        var (journal, entries) = CommitJournal.Open(paths.JournalFile);
        _journal = journal;
        _job = job;
        _jobState = new JobState(job.Plan, _settings.Lease, entries);
        _jobState.RecountTotals();
        foreach (var commit in _jobState.Commits) AddStatistics(commit);
        _state = JobStates.Running;
        _startedAt = DateTimeOffset.UtcNow;
        _log.Info("job {0}: {1} images in {2} partitions, {3} already committed",
            job.JobId, job.Plan.Images, job.Plan.Partitions.Length, _jobState.Committed);
        prepared.Requester.Tell(new JobAccepted(job.JobId, job.Spec.Output));
        if (_jobState.IsComplete) StartMerge();
        else AssignPending();
        PushStatus();
    }

    private void OnCancel(CancelJob cancel)
    {
        if (_job is null || (_job.JobId != cancel.JobId && cancel.JobId != "current") || !Busy)
        {
            Sender.Tell(new JobRejected($"no running job {cancel.JobId}"));
            return;
        }
        _cancellation.Cancel();
        _state = JobStates.Cancelled;
        _finishedAt = DateTimeOffset.UtcNow;
        _error = "cancelled by request";
        foreach (var worker in _workers.Values) worker.Actor.Tell(new AbandonJob(_job.JobId));
        ClearCurrentJob();
        Sender.Tell(BuildStatus());
        PushStatus();
    }

    private void OnRequestWork(RequestWork request)
    {
        if (!_workers.TryGetValue(request.Worker, out var entry))
        {
            entry = new WorkerEntry(Sender, request.Roles);
            _workers[request.Worker] = entry;
            Context.Watch(Sender);
            _log.Info("worker {0} joined with roles [{1}]", request.Worker, string.Join(",", request.Roles));
        }
        else if (!entry.Actor.Equals(Sender))
        {
            Context.Unwatch(entry.Actor);
            entry.Actor = Sender;
            Context.Watch(Sender);
            // the same name from another actor is a restarted worker (a pod keeps its name): its old incarnation's
            // partitions died with it, and unwatched, its Terminated would never re-queue them before their leases expire
            var released = _jobState?.Release(request.Worker) ?? [];
            if (released.Count > 0)
                _log.Warning("worker {0} restarted; re-queued {1} partition(s) of its previous incarnation: {2}", request.Worker, released.Count,
                    string.Join(", ", released.Select(l => $"{l.PartitionId}#{l.Attempt}")));
        }
        entry.Wanted = request.Slots;
        entry.LastHeartbeat = DateTimeOffset.UtcNow;
        AssignPending();
    }

    private void AssignPending()
    {
        if (_state != JobStates.Running || _jobState is null || _job is null) return;
        var now = DateTimeOffset.UtcNow;
        // GPU workers first: they embed fastest, so they should never wait while a CPU worker takes the work
        foreach (var (name, worker) in _workers.OrderByDescending(w => w.Value.Roles.Contains("gpu")))
        {
            while (worker.Wanted > 0)
            {
                var lease = _jobState.TryAssign(name, now);
                if (lease is null) return;
                _journal!.Append(new JournalEntry(JournalEntry.Assign, lease.PartitionId, lease.Attempt, name));
                worker.Wanted--;
                worker.Actor.Tell(new WorkAssigned(_job.JobId, _job.Spec, _jobState.Info(lease.PartitionId), lease.Attempt, lease.Expires));
            }
        }
    }

    private void OnHeartbeat(WorkerHeartbeat beat)
    {
        if (!_workers.TryGetValue(beat.Worker, out var entry))
        {
            entry = new WorkerEntry(Sender, beat.Roles);
            _workers[beat.Worker] = entry;
            Context.Watch(Sender);
        }
        entry.LastHeartbeat = DateTimeOffset.UtcNow;
        entry.ImagesDone = beat.ImagesDone;
        entry.ImagesPerSecond = beat.ImagesPerSecond;
        entry.Held = beat.Held;
        entry.Embedding = beat.Embedding;
        entry.Stages = beat.Stages;
        if (_jobState is null || _job is null) return;
        var now = DateTimeOffset.UtcNow;
        foreach (var held in beat.Held)
        {
            if (held.JobId != _job.JobId)
            {
                Sender.Tell(new AbandonJob(held.JobId));
                continue;
            }
            // after a coordinator restart the journal knows the attempt but not its lease: adopt it, don't redo it
            if (!_jobState.Renew(held.PartitionId, held.Attempt, now))
                _jobState.Adopt(held.PartitionId, held.Attempt, beat.Worker, now);
        }
    }

    private void OnCommitted(PartitionCommitted committed)
    {
        var worker = Sender;
        if (_job is null || _jobState is null || committed.JobId != _job.JobId)
        {
            worker.Tell(new CommitAck(committed.JobId, committed.Outcome.PartitionId, committed.Outcome.Attempt, "unknown-job"));
            return;
        }
        var outcome = committed.Outcome;
        if (_jobState.IsCommitted(outcome.PartitionId))
        {
            var verdict = _jobState.CommittedAttempt(outcome.PartitionId) == outcome.Attempt ? "accepted" : "duplicate";
            worker.Tell(new CommitAck(committed.JobId, outcome.PartitionId, outcome.Attempt, verdict));
            return;
        }
        var output = _job.Spec.Output;
        // checking the part's sha256 reads the whole file: off the mailbox
        Task.Run(() => new CommitChecked(outcome, CheckPart(output, outcome), worker)).PipeTo(Self);
    }

    private static string? CheckPart(string output, PartitionOutcome outcome)
    {
        var part = outcome.Part;
        return CheckFile(output, part.RowsPath, part.RowsBytes, part.RowsSha256)
               ?? CheckFile(output, part.ErrorsPath, part.ErrorsBytes, part.ErrorsSha256);
    }

    private static string? CheckFile(string output, string relativePath, long bytes, string sha256)
    {
        var path = PartFiles.Resolve(output, relativePath);
        if (!File.Exists(path)) return $"part {relativePath} does not exist";
        using var stream = File.OpenRead(path);
        if (stream.Length != bytes) return $"part {relativePath} has {stream.Length} bytes, the commit says {bytes}";
        var actual = Convert.ToHexStringLower(SHA256.HashData(stream));
        return string.Equals(actual, sha256, StringComparison.OrdinalIgnoreCase) ? null : $"part {relativePath} has sha256 {actual}, the commit says {sha256}";
    }

    private void OnCommitChecked(CommitChecked check)
    {
        if (_jobState is null || _job is null || _state != JobStates.Running && _state != JobStates.Merging) return;
        var outcome = check.Outcome;
        if (check.Problem is not null)
        {
            _log.Warning("rejected commit of {0} attempt {1} from {2}: {3}", outcome.PartitionId, outcome.Attempt, outcome.Worker, check.Problem);
            check.Worker.Tell(new CommitAck(_job.JobId, outcome.PartitionId, outcome.Attempt, "invalid"));
            _jobState.Release(outcome.Worker, outcome.PartitionId);
            AssignPending();
            return;
        }
        var verdict = _jobState.Commit(outcome);
        if (verdict == CommitVerdict.Accepted)
        {
            _journal!.Append(new JournalEntry(JournalEntry.Committed, outcome.PartitionId, outcome.Attempt, outcome.Worker, outcome));
            _failures.Remove(outcome.PartitionId);
            AddStatistics(outcome);
        }
        else if (verdict == CommitVerdict.Invalid)
        {
            _log.Warning("rejected commit of {0} attempt {1}: counts do not match the plan", outcome.PartitionId, outcome.Attempt);
        }
        check.Worker.Tell(new CommitAck(_job.JobId, outcome.PartitionId, outcome.Attempt, verdict.ToString().ToLowerInvariant()));
        if (_jobState.IsComplete && _state == JobStates.Running) StartMerge();
    }

    private void AddStatistics(PartitionOutcome outcome)
    {
        var info = _jobState!.Info(outcome.PartitionId);
        var key = (info.Split, info.Supercategory);
        if (!_histograms.TryGetValue(key, out var h)) h = (new long[outcome.Histogram.Counts.Length], 0);
        if (h.Counts.Length == outcome.Histogram.Counts.Length)
        {
            for (var i = 0; i < h.Counts.Length; i++) h.Counts[i] += outcome.Histogram.Counts[i];
            _histograms[key] = (h.Counts, h.Boxes + outcome.Histogram.Count);
        }
        foreach (var (kind, count) in outcome.QuarantineByKind)
            _quarantineByKind[kind] = _quarantineByKind.GetValueOrDefault(kind) + count;
    }

    private void OnPartitionFailed(PartitionFailed failed)
    {
        if (_jobState is null || _job is null || failed.JobId != _job.JobId || _state != JobStates.Running) return;
        var count = _failures[failed.PartitionId] = _failures.GetValueOrDefault(failed.PartitionId) + 1;
        _log.Warning("{0} attempt {1} failed on {2} ({3} in a row): {4}", failed.PartitionId, failed.Attempt, failed.Worker, count, failed.Reason);
        _jobState.Release(failed.Worker, failed.PartitionId);
        if (count >= _settings.MaxAttemptFailures)
        {
            Fail($"partition {failed.PartitionId} failed {count} times; last error: {failed.Reason}");
            foreach (var worker in _workers.Values) worker.Actor.Tell(new AbandonJob(_job.JobId));
            return;
        }
        AssignPending();
    }

    private void OnTerminated(Terminated terminated)
    {
        if (_subscribers.Remove(terminated.ActorRef)) return;
        foreach (var (name, worker) in _workers.ToArray())
        {
            if (!worker.Actor.Equals(terminated.ActorRef)) continue;
            _workers.Remove(name);
            var released = _jobState?.Release(name) ?? [];
            _log.Warning("worker {0} is gone; re-queued {1} partition(s): {2}", name, released.Count,
                string.Join(", ", released.Select(l => $"{l.PartitionId}#{l.Attempt}")));
        }
        AssignPending();
    }

    private void OnTick()
    {
        if (_jobState is not null && _state == JobStates.Running)
        {
            var expired = _jobState.ExpireLeases(DateTimeOffset.UtcNow);
            foreach (var lease in expired)
                _log.Warning("lease of {0} attempt {1} on {2} expired; re-queued", lease.PartitionId, lease.Attempt, lease.Worker);
            AssignPending();
        }
        PushStatus();
    }

    private void StartMerge()
    {
        _state = JobStates.Merging;
        var job = _job!;
        var commits = _jobState!.Commits.ToList();
        var token = _cancellation.Token;
        _log.Info("job {0}: every partition is committed; merging {1} parts", job.JobId, commits.Count);
        Task.Run(() => _services.Merge(job, commits, token), token).ContinueWith(t =>
            t.IsCompletedSuccessfully
                ? (object)new Merged(t.Result)
                : new MergeFailed(t.Exception?.GetBaseException().Message ?? "cancelled"), TaskScheduler.Default).PipeTo(Self);
        ClearCurrentJob();
    }

    private void ClearCurrentJob()
    {
        if (CurrentJobFile() is { } current && File.Exists(current)) File.Delete(current);
    }

    private void Fail(string reason)
    {
        _state = JobStates.Failed;
        _finishedAt = DateTimeOffset.UtcNow;
        _error = reason;
        ClearCurrentJob();
        if (_job is not null) _services.Release(_job); // the output folder's lock
        PushStatus();
    }

    private void PushStatus()
    {
        if (_subscribers.Count == 0) return;
        var status = BuildStatus();
        foreach (var subscriber in _subscribers) subscriber.Tell(status);
    }

    private JobStatus BuildStatus()
    {
        var now = DateTimeOffset.UtcNow;
        var js = _jobState;
        long inFlightImages = 0;
        foreach (var worker in _workers.Values)
            foreach (var held in worker.Held)
                if (js is not null && held.JobId == _job?.JobId && !js.IsCommitted(held.PartitionId)) inFlightImages += held.ImagesDone;
        var done = (js?.ImagesCommitted ?? 0) + inFlightImages;
        var rate = _rateWindow.Sample(now, done);
        var total = _job?.Plan.Images ?? 0;
        double? eta = _state == JobStates.Running && rate > 0 ? (total - done) / rate : null;
        var workers = _workers.Select(w => new WorkerStatus(w.Key, w.Value.Roles, w.Value.Held.Length, w.Value.ImagesDone,
            w.Value.ImagesPerSecond, w.Value.LastHeartbeat) { Embedding = w.Value.Embedding, Stages = w.Value.Stages }).OrderBy(w => w.Worker, StringComparer.Ordinal).ToArray();
        var histograms = _histograms.OrderBy(h => h.Key.Split, StringComparer.Ordinal).ThenBy(h => h.Key.Super, StringComparer.Ordinal)
            .Select(h => new BoxHistogramSummary(h.Key.Split, h.Key.Super, h.Value.Counts, h.Value.Boxes)).ToArray();
        return new JobStatus(_job?.JobId, _state, _job?.Spec.Output, js?.Total ?? 0, js?.Committed ?? 0, js?.InFlight ?? 0,
            js?.Queued ?? 0, total, done, js?.RowsCommitted ?? 0, js?.QuarantinedCommitted ?? 0, rate, eta,
            _state == JobStates.Idle ? 0 : ((_finishedAt ?? now) - _startedAt).TotalSeconds, _error, _merged?.DatasetDir,
            new Dictionary<string, int>(_quarantineByKind), histograms, workers);
    }
}
