using Prometheus;
using Pipeline.Cluster.Protocol;

namespace Pipeline.Cluster.Api;

/// <summary>
/// Prometheus gauges of the coordinator, set from the <see cref="JobStatus"/> the singleton reports just before each
/// scrape. A registry of its own (not prometheus-net's static default), so two API servers in one process never share series.
/// </summary>
public sealed class PipelineMetrics
{
    private static readonly string[] States = Enum.GetValues<JobPhase>().Select(JobStates.Name).ToArray();

    private readonly object _gate = new();
    private readonly HashSet<string> _workers = new(StringComparer.Ordinal);
    private readonly HashSet<string> _kinds = new(StringComparer.Ordinal);
    private string? _jobId;

    private readonly Gauge _coordinatorUp;
    private readonly Gauge _jobState;
    private readonly Gauge _imagesPlanned;
    private readonly Gauge _imagesDone;
    private readonly Gauge _rows;
    private readonly Gauge _imagesPerSecond;
    private readonly Gauge _etaSeconds;
    private readonly Gauge _elapsedSeconds;
    private readonly Gauge _partitions;
    private readonly Gauge _quarantined;
    private readonly Gauge _workersUp;
    private readonly Gauge _workerImagesPerSecond;
    private readonly Gauge _workerImagesDone;
    private readonly Gauge _workerPartitions;
    private readonly Gauge _workerHeartbeatAge;
    private readonly Gauge _workerModelBusy;
    private readonly Gauge _workerModelIdle;
    private readonly Gauge _workerDecodeWait;
    private readonly Gauge _stageBusy;
    private readonly Gauge _stageUtilisation;
    private readonly Gauge _stageImages;
    private readonly Gauge _stageImagesPerSecond;
    private readonly Gauge _stageCapacity;
    private readonly Gauge _stageQueue;
    private readonly Gauge _bottleneck;
    private readonly Dictionary<string, string[]> _stagesByWorker = new(StringComparer.Ordinal);

    public PipelineMetrics()
    {
        Registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(Registry);
        _coordinatorUp = factory.CreateGauge("pipeline_coordinator_reachable", "1 when the JobManager singleton answered the last scrape's status request.");
        _jobState = factory.CreateGauge("pipeline_job_state", "1 for the current job's state, 0 for the others.", "state");
        _imagesPlanned = factory.CreateGauge("pipeline_images_planned", "Images in the current job's plan.");
        _imagesDone = factory.CreateGauge("pipeline_images_done_total", "Images of the current job processed so far (committed, plus in-flight progress).");
        _rows = factory.CreateGauge("pipeline_rows_total", "Image rows of the current job in committed partitions.");
        _imagesPerSecond = factory.CreateGauge("pipeline_images_per_second", "The current job's throughput over the last 30 s.");
        _etaSeconds = factory.CreateGauge("pipeline_eta_seconds", "Estimated seconds until every partition is committed; NaN when unknown.");
        _elapsedSeconds = factory.CreateGauge("pipeline_elapsed_seconds", "Seconds since the current job started.");
        _partitions = factory.CreateGauge("pipeline_partitions", "Partitions of the current job by state.", "state");
        _quarantined = factory.CreateGauge("pipeline_quarantined_total", "Quarantined images of the current job by kind of error.", "kind");
        _workersUp = factory.CreateGauge("pipeline_workers", "Workers the coordinator hears from.");
        _workerImagesPerSecond = factory.CreateGauge("pipeline_worker_images_per_second", "A worker's throughput as it reports it.", "worker");
        _workerImagesDone = factory.CreateGauge("pipeline_worker_images_done_total", "Images a worker has processed since it started.", "worker");
        _workerPartitions = factory.CreateGauge("pipeline_worker_partitions", "Partitions a worker holds now.", "worker");
        _workerHeartbeatAge = factory.CreateGauge("pipeline_worker_heartbeat_age_seconds", "Seconds since the worker's last heartbeat.", "worker");
        _workerModelBusy = factory.CreateGauge("pipeline_worker_model_busy_seconds", "Seconds the worker's embedding model (GPU or CPU) ran a batch, since the worker started.", "worker", "device");
        _workerModelIdle = factory.CreateGauge("pipeline_worker_model_idle_seconds", "Seconds the worker's model sat idle waiting for decoded images (decode is the bottleneck when this grows).", "worker", "device");
        _workerDecodeWait = factory.CreateGauge("pipeline_worker_decode_wait_seconds", "Seconds the worker's decode threads waited for the model, summed over threads (the model is the bottleneck when this grows).", "worker", "device");
        _stageBusy = factory.CreateGauge("pipeline_worker_stage_busy_seconds", "Seconds a worker's pipeline stage (read, decode, embed, write) worked, summed over its threads, while partitions were in the pipeline.", "worker", "stage");
        _stageUtilisation = factory.CreateGauge("pipeline_worker_stage_utilisation", "Busy time of a worker's pipeline stage over its threads' time (0..1); the busiest stage is the bottleneck.", "worker", "stage");
        _stageImages = factory.CreateGauge("pipeline_worker_stage_images_total", "Images a worker's pipeline stage finished.", "worker", "stage");
        _stageImagesPerSecond = factory.CreateGauge("pipeline_worker_stage_images_per_second", "Images a worker's pipeline stage finished per second of pipeline time.", "worker", "stage");
        _stageCapacity = factory.CreateGauge("pipeline_worker_stage_capacity_images_per_second", "Images per second a worker's pipeline stage would do with its threads always busy.", "worker", "stage");
        _stageQueue = factory.CreateGauge("pipeline_worker_stage_queue_depth", "Images waiting in front of a worker's pipeline stage.", "worker", "stage");
        _bottleneck = factory.CreateGauge("pipeline_worker_bottleneck", "1 for the worker's bottleneck stage (the busiest for its threads), 0 for the others.", "worker", "stage");
        foreach (var state in States) _jobState.WithLabels(state).Set(0);
        foreach (var state in PartitionStates) _partitions.WithLabels(state).Set(0);
        _jobState.WithLabels(JobStates.Name(JobPhase.Idle)).Set(1);
        DotNetStats.Register(Registry);
    }

    public static readonly string[] PartitionStates = ["committed", "in_flight", "queued"];

    public CollectorRegistry Registry { get; }

    /// <summary>Before each scrape: ask the coordinator and set every gauge from its answer.</summary>
    public void CollectFrom(CoordinatorGateway gateway, TimeSpan timeout)
    {
        Registry.AddBeforeCollectCallback(async cancellation =>
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            limit.CancelAfter(timeout);
            try
            {
                Update(await gateway.StatusAsync(limit.Token), DateTimeOffset.UtcNow);
            }
            catch (Exception e) when (e is CoordinatorUnavailableException or OperationCanceledException)
            {
                // the scrape still answers: the last values stay, and this gauge says they are stale
                _coordinatorUp.Set(0);
            }
        });
    }

    public void Update(JobStatus s, DateTimeOffset now)
    {
        lock (_gate)
        {
            _coordinatorUp.Set(1);
            foreach (var state in States) _jobState.WithLabels(state).Set(state == JobStates.Name(s.State) ? 1 : 0);
            _imagesPlanned.Set(s.Images);
            _imagesDone.Set(s.ImagesDone);
            _rows.Set(s.Rows);
            _imagesPerSecond.Set(s.ImagesPerSecond);
            _etaSeconds.Set(s.EtaSeconds ?? double.NaN);
            _elapsedSeconds.Set(s.ElapsedSeconds);
            _partitions.WithLabels("committed").Set(s.Committed);
            _partitions.WithLabels("in_flight").Set(s.InFlight);
            _partitions.WithLabels("queued").Set(s.Queued);

            // a new job starts its quarantine counts from nothing: drop the kinds of the previous one
            if (!string.Equals(_jobId, s.JobId, StringComparison.Ordinal))
            {
                foreach (var kind in _kinds) _quarantined.RemoveLabelled(kind);
                _kinds.Clear();
                _jobId = s.JobId;
            }
            foreach (var (kind, count) in s.QuarantineByKind)
            {
                _quarantined.WithLabels(kind).Set(count);
                _kinds.Add(kind);
            }

            _workersUp.Set(s.Workers.Length);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var w in s.Workers)
            {
                seen.Add(w.Worker);
                _workerImagesPerSecond.WithLabels(w.Worker).Set(w.ImagesPerSecond);
                _workerImagesDone.WithLabels(w.Worker).Set(w.ImagesDone);
                _workerPartitions.WithLabels(w.Worker).Set(w.Partitions);
                _workerHeartbeatAge.WithLabels(w.Worker).Set(Math.Max(0, (now - w.LastHeartbeat).TotalSeconds));
                if (w.Embedding is { } e)
                {
                    _workerModelBusy.WithLabels(w.Worker, e.Device).Set(e.ModelBusySeconds);
                    _workerModelIdle.WithLabels(w.Worker, e.Device).Set(e.ModelIdleSeconds);
                    _workerDecodeWait.WithLabels(w.Worker, e.Device).Set(e.DecodeWaitedForModelSeconds);
                }
                if (w.Stages is { } figures) SetStages(w.Worker, figures);
            }
            // a worker that left the cluster leaves the metrics too, instead of reporting its last rate forever
            foreach (var gone in _workers)
            {
                if (seen.Contains(gone)) continue;
                _workerImagesPerSecond.RemoveLabelled(gone);
                _workerImagesDone.RemoveLabelled(gone);
                _workerPartitions.RemoveLabelled(gone);
                _workerHeartbeatAge.RemoveLabelled(gone);
                RemoveStages(gone);
            }
            _workers.Clear();
            _workers.UnionWith(seen);
        }
    }

    private void SetStages(string worker, Pipeline.Processing.StageFigures figures)
    {
        var bottleneck = figures.Bottleneck;
        foreach (var stage in figures.Stages)
        {
            _stageBusy.WithLabels(worker, stage.Stage).Set(stage.BusySeconds);
            _stageUtilisation.WithLabels(worker, stage.Stage).Set(stage.Utilisation);
            _stageImages.WithLabels(worker, stage.Stage).Set(stage.Images);
            _stageImagesPerSecond.WithLabels(worker, stage.Stage).Set(stage.ImagesPerSecond);
            _stageCapacity.WithLabels(worker, stage.Stage).Set(stage.CapacityPerSecond);
            _stageQueue.WithLabels(worker, stage.Stage).Set(stage.QueueDepth);
            _bottleneck.WithLabels(worker, stage.Stage).Set(stage.Stage == bottleneck ? 1 : 0);
        }
        _stagesByWorker[worker] = [.. figures.Stages.Select(stage => stage.Stage)];
    }

    private void RemoveStages(string worker)
    {
        if (!_stagesByWorker.Remove(worker, out var stages)) return;
        foreach (var stage in stages)
            foreach (var gauge in new[] { _stageBusy, _stageUtilisation, _stageImages, _stageImagesPerSecond, _stageCapacity, _stageQueue, _bottleneck })
                gauge.RemoveLabelled(worker, stage);
    }

    public Task ExportAsync(Stream destination, CancellationToken cancellation) =>
        Registry.CollectAndExportAsTextAsync(destination, cancellation);
}
