using Akka;
using Akka.Actor;
using Akka.Event;
using Pipeline.Cluster.Protocol;
using Pipeline.Jobs;
using Pipeline.Processing;

namespace Pipeline.Cluster.Worker;

public sealed record WorkerSettings(string Name, string[] Roles, int PartitionsInFlight, int Prefetch, TimeSpan Heartbeat);

/// <summary>
/// Pulls partitions from the JobManager and hands every one it holds (<see cref="WorkerSettings.PartitionsInFlight"/>
/// plus <see cref="WorkerSettings.Prefetch"/> leased ahead) to the node pipeline, which reads them in turn on its own
/// threads (never the actor's dispatcher nor the thread pool's), and commits are re-sent every
/// heartbeat until the coordinator acknowledges them, so a commit survives a coordinator hand-over.
/// </summary>
public sealed class PartitionWorker : ReceiveActor, IWithTimers
{
    private sealed class Attempt(WorkAssigned work)
    {
        public WorkAssigned Work { get; } = work;
        public CancellationTokenSource Cancellation { get; } = new();
        public int ImagesDone;
        public bool Started { get; set; }
        public string Key => $"{Work.JobId}/{Work.Partition.Id}#{Work.Attempt}";
    }

    private sealed record AttemptDone(string Key, PartitionOutcome Outcome) : INoSerializationVerificationNeeded;
    private sealed record AttemptFailed(string Key, string Reason, bool Cancelled) : INoSerializationVerificationNeeded;
    private sealed class Beat : INoSerializationVerificationNeeded { public static readonly Beat Instance = new(); }

    /// <summary>Asks the worker to hand back everything it holds (CoordinatedShutdown); replies Done.</summary>
    public sealed class Drain : INoSerializationVerificationNeeded { public static readonly Drain Instance = new(); }

    private readonly IActorRef _coordinator;
    private readonly IJobServices _services;
    private readonly WorkerSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<Attempt> _held = [];
    private readonly Dictionary<string, PartitionCommitted> _unacked = new(StringComparer.Ordinal);
    private readonly RateWindow _rateWindow = new(TimeSpan.FromSeconds(20));
    private long _imagesDone;
    private bool _draining;

    public ITimerScheduler Timers { get; set; } = null!;

    public PartitionWorker(IActorRef coordinator, IJobServices services, WorkerSettings settings)
    {
        _coordinator = coordinator;
        _services = services;
        _settings = settings;

        Receive<WorkAssigned>(OnAssigned);
        Receive<AttemptDone>(OnDone);
        Receive<AttemptFailed>(OnFailed);
        Receive<CommitAck>(OnAck);
        Receive<AbandonJob>(abandon =>
        {
            foreach (var attempt in _held.Where(a => a.Work.JobId == abandon.JobId).ToList())
            {
                attempt.Cancellation.Cancel();
                _held.Remove(attempt);
            }
            foreach (var key in _unacked.Keys.Where(k => k.StartsWith(abandon.JobId + "/", StringComparison.Ordinal)).ToList())
                _unacked.Remove(key);
            StartNext();
        });
        Receive<Beat>(_ => OnBeat());
        Receive<Drain>(_ =>
        {
            _draining = true;
            foreach (var attempt in _held)
            {
                attempt.Cancellation.Cancel();
                _coordinator.Tell(new ReleasePartition(attempt.Work.JobId, attempt.Work.Partition.Id, attempt.Work.Attempt, _settings.Name));
            }
            _log.Info("draining: handed back {0} partition(s)", _held.Count);
            _held.Clear();
            Sender.Tell(Done.Instance);
        });
    }

    protected override void PreStart()
    {
        Timers.StartPeriodicTimer("beat", Beat.Instance, TimeSpan.Zero, _settings.Heartbeat);
    }

    protected override void PostStop()
    {
        foreach (var attempt in _held) attempt.Cancellation.Cancel();
    }

    private int FreeSlots => _draining ? 0 : Math.Max(0, _settings.PartitionsInFlight + _settings.Prefetch - _held.Count);

    private void OnBeat()
    {
        var held = _held.Select(a => new HeldPartition(a.Work.JobId, a.Work.Partition.Id, a.Work.Attempt, Volatile.Read(ref a.ImagesDone))).ToArray();
        var now = DateTimeOffset.UtcNow;
        var done = Interlocked.Read(ref _imagesDone) + held.Sum(h => (long)h.ImagesDone);
        var rate = _rateWindow.Sample(now, done);
        EmbeddingTime? embedding = null;
        foreach (var stats in _services.EmbeddingStats())
            embedding = new EmbeddingTime(stats.Device, stats.Wall.TotalSeconds, stats.ModelBusy.TotalSeconds, stats.DecodeWaitedForModel.TotalSeconds);
        _coordinator.Tell(new WorkerHeartbeat(_settings.Name, _settings.Roles, held, done, rate) { Embedding = embedding, Stages = _services.Stages() });
        foreach (var commit in _unacked.Values) _coordinator.Tell(commit);
        if (FreeSlots > 0) _coordinator.Tell(new RequestWork(_settings.Name, FreeSlots, _settings.Roles));
    }

    private void OnAssigned(WorkAssigned work)
    {
        if (_draining)
        {
            Sender.Tell(new ReleasePartition(work.JobId, work.Partition.Id, work.Attempt, _settings.Name));
            return;
        }
        _held.Add(new Attempt(work));
        StartNext();
    }

    /// <summary>
    /// Every held partition goes into the node pipeline at once: the pipeline reads them in the order they came, so
    /// decoding runs on from one partition into the next, and it bounds the images in flight itself.
    /// </summary>
    private void StartNext()
    {
        foreach (var attempt in _held)
        {
            if (attempt.Started) continue;
            attempt.Started = true;
            Start(attempt);
        }
    }

    private void Start(Attempt attempt)
    {
        var work = new PartitionWork(attempt.Work.JobId, attempt.Work.Spec, attempt.Work.Partition, attempt.Work.Attempt, _settings.Name);
        var progress = new Progress(attempt);
        var key = attempt.Key;
        var token = attempt.Cancellation.Token;
        _log.Info("processing {0} ({1} images)", key, attempt.Work.Partition.Images);
        Task.Run(() => _services.ExecuteAsync(work, progress, token), token).ContinueWith(t =>
            t.IsCompletedSuccessfully
                ? new AttemptDone(key, t.Result)
                : (object)new AttemptFailed(key, t.Exception?.GetBaseException().Message ?? "cancelled", t.IsCanceled || token.IsCancellationRequested),
            TaskScheduler.Default).PipeTo(Self);
    }

    private sealed class Progress(Attempt attempt) : IProgress<int>
    {
        public void Report(int value) => Volatile.Write(ref attempt.ImagesDone, value);
    }

    private void OnDone(AttemptDone done)
    {
        var attempt = _held.Find(a => a.Key == done.Key);
        if (attempt is null) return; // abandoned meanwhile
        _held.Remove(attempt);
        Interlocked.Add(ref _imagesDone, done.Outcome.Rows + done.Outcome.Quarantined);
        var commit = new PartitionCommitted(attempt.Work.JobId, done.Outcome);
        _unacked[done.Key] = commit;
        _coordinator.Tell(commit);
        _log.Info("committed {0}: {1} rows, {2} quarantined in {3:F1}s", done.Key, done.Outcome.Rows, done.Outcome.Quarantined, done.Outcome.Seconds);
        StartNext();
        if (FreeSlots > 0) _coordinator.Tell(new RequestWork(_settings.Name, FreeSlots, _settings.Roles));
    }

    private void OnFailed(AttemptFailed failed)
    {
        var attempt = _held.Find(a => a.Key == failed.Key);
        if (attempt is null) return;
        _held.Remove(attempt);
        if (!failed.Cancelled)
        {
            _log.Error("{0} failed: {1}", failed.Key, failed.Reason);
            _coordinator.Tell(new PartitionFailed(attempt.Work.JobId, attempt.Work.Partition.Id, attempt.Work.Attempt, _settings.Name, failed.Reason));
        }
        StartNext();
    }

    private void OnAck(CommitAck ack)
    {
        var key = $"{ack.JobId}/{ack.PartitionId}#{ack.Attempt}";
        if (!_unacked.Remove(key)) return;
        // a duplicate's part is never read by the merge (another attempt's part is the recorded one)
        if (ack.Verdict is CommitVerdict.Duplicate or CommitVerdict.Invalid) _log.Info("{0} was not recorded ({1})", key, ack.Verdict);
    }
}
