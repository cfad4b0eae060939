using System.Text.Json;
using System.Text.Json.Serialization;
using Pipeline.Cluster.Protocol;

namespace Pipeline.Cluster.Api;

/// <summary>JSON of the HTTP API: snake_case like the job file; nulls written (an unknown ETA is null, not absent).</summary>
public static class ApiJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };
}

/// <summary>Partitions of a job by state; committed + in_flight + queued = total.</summary>
public sealed record PartitionCounts(int Total, int Committed, int InFlight, int Queued);

/// <summary>The relative box-size histogram of one (split, super-class) so far; bin i covers [bin_edges[i], bin_edges[i+1]).</summary>
public sealed record HistogramView(string Split, string Supercategory, long Boxes, double[] BinEdges, long[] Counts);

public sealed record WorkerView(
    string Worker,
    string[] Roles,
    int Partitions,
    long ImagesDone,
    double ImagesPerSecond,
    DateTimeOffset LastHeartbeat,
    double HeartbeatAgeSeconds)
{
    /// <summary>The worker's pipeline stages (busy share, images/s, queue depth) and its bottleneck; null before its first partition.</summary>
    public Pipeline.Processing.StageFigures? Stages { get; init; }
    /// <summary>The worker's model: seconds it ran a batch (busy) and sat idle since the worker started; null before its first batch.</summary>
    public EmbeddingTime? Embedding { get; init; }
}

/// <summary>What <c>GET /jobs/{id}</c> answers (and each item of <c>GET /jobs</c>): the coordinator's <see cref="JobStatus"/>
/// as stable, documented JSON. <see cref="State"/> is a string: queued, planning, running, merging, succeeded, failed, cancelled
/// (idle: no job).</summary>
public sealed record JobView(
    string? JobId,
    JobPhase State,
    bool Finished,
    string? Output,
    PartitionCounts Partitions,
    long Images,
    long ImagesDone,
    double Progress,
    long Rows,
    long Quarantined,
    double ImagesPerSecond,
    double? EtaSeconds,
    double ElapsedSeconds,
    string? Error,
    string? Dataset,
    Dictionary<string, int> QuarantineByKind,
    HistogramView[] Histograms,
    WorkerView[] Workers)
{
    /// <summary>The coordinator's run number of the job's latest run.</summary>
    public int Run { get; init; }
    public string? Corpus { get; init; }
    public DateTimeOffset? SubmittedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }
    /// <summary>What holds a running job back ("waiting for workers"), else null.</summary>
    public string? Waiting { get; init; }
    /// <summary>A problem to act on (no worker for more than a minute), else null.</summary>
    public string? Warning { get; init; }
    /// <summary>Images done over the run's wall time (started to finished, or to now): a finished job's throughput.</summary>
    public double AverageImagesPerSecond { get; init; }
    /// <summary>What happened to the run, oldest first, each at its real time (bounded).</summary>
    public JobEvent[] Events { get; init; } = [];
    /// <summary>The run's images/s over time, oldest first (bounded; see docs/api.md).</summary>
    public ThroughputSample[] Throughput { get; init; } = [];

    public static JobView From(JobStatus s, DateTimeOffset now)
    {
        var histograms = new HistogramView[s.Histograms.Length];
        for (var i = 0; i < histograms.Length; i++)
        {
            var h = s.Histograms[i];
            histograms[i] = new HistogramView(h.Split, h.Supercategory, h.Boxes, BinEdges(h.Counts.Length), h.Counts);
        }
        var progress = s.Images > 0 ? Math.Clamp((double)s.ImagesDone / s.Images, 0, 1) : s.State == JobStates.Succeeded ? 1 : 0;
        return new JobView(s.JobId, s.State, s.IsFinished, s.Output,
            new PartitionCounts(s.Partitions, s.Committed, s.InFlight, s.Queued),
            s.Images, s.ImagesDone, progress, s.Rows, s.Quarantined, Finite(s.ImagesPerSecond),
            s.EtaSeconds is { } eta && double.IsFinite(eta) ? Math.Max(0, eta) : null, Finite(s.ElapsedSeconds),
            s.Error, s.Dataset, new Dictionary<string, int>(s.QuarantineByKind), histograms, FromWorkers(s.Workers, now))
        {
            Run = s.Run, Corpus = s.Corpus, SubmittedAt = s.SubmittedAt, StartedAt = s.StartedAt, FinishedAt = s.FinishedAt,
            Waiting = s.Waiting, Warning = s.Warning, Events = s.Events, Throughput = s.Throughput,
            AverageImagesPerSecond = s.ElapsedSeconds > 0 ? Finite(s.ImagesDone / s.ElapsedSeconds) : 0,
        };
    }

    public static WorkerView[] FromWorkers(WorkerStatus[] workers, DateTimeOffset now)
    {
        var views = new WorkerView[workers.Length];
        for (var i = 0; i < views.Length; i++)
        {
            var w = workers[i];
            views[i] = new WorkerView(w.Worker, w.Roles, w.Partitions, w.ImagesDone, Finite(w.ImagesPerSecond), w.LastHeartbeat,
                Math.Max(0, (now - w.LastHeartbeat).TotalSeconds)) { Stages = w.Stages, Embedding = w.Embedding };
        }
        return views;
    }

    /// <summary>Equal-width bins over [0, 1] of relative box size sqrt(w*h)/sqrt(W*H), as the partitions compute them.</summary>
    public static double[] BinEdges(int bins)
    {
        var edges = new double[bins + 1];
        for (var i = 0; i <= bins; i++) edges[i] = Math.Round((double)i / bins, 6);
        return edges;
    }

    // System.Text.Json refuses NaN and infinities; a rate that is not a number is no rate
    private static double Finite(double value) => double.IsFinite(value) ? value : 0;
}

/// <summary>The answer to <c>POST /jobs</c>: the job's id, and <see cref="State"/> queued or running (the same job again: its state now).</summary>
public sealed record SubmittedJob(string JobId, string Output, string Status)
{
    public JobPhase State { get; init; }
    public int Run { get; init; }
}
