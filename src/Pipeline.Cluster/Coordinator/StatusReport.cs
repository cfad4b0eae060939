using System.Globalization;
using Pipeline.Cluster.Protocol;

namespace Pipeline.Cluster.Coordinator;

/// <summary>Builds the <see cref="JobStatus"/> the API, the CLI and the metrics read: live for a run, from the record for history.</summary>
public static class StatusReport
{
    /// <summary>No job at all; the workers the coordinator hears from are listed still.</summary>
    public static JobStatus Idle(WorkerRegistry workers) =>
        new(null, JobPhase.Idle, null, 0, 0, 0, 0, 0, 0, 0, 0, 0, null, 0, null, null, [], [], workers.Status(null, NothingInFlight));

    /// <summary>A job the coordinator only remembers (queued, or ended): every worker, with what it committed for this job.</summary>
    public static JobStatus FromRecord(JobRecord r, WorkerRegistry workers, DateTimeOffset now) =>
        new(r.JobId, r.State, r.Spec.Output, r.Partitions, r.Committed, 0, r.Partitions - r.Committed, r.Images,
            r.Rows + r.Quarantined, r.Rows, r.Quarantined, 0, null, Elapsed(r, now), r.Error, r.Dataset, [], [],
            workers.Status(r.JobId, NothingInFlight))
        {
            Run = r.Run, Corpus = r.Spec.Corpus, SubmittedAt = r.SubmittedAt, StartedAt = r.StartedAt, FinishedAt = r.FinishedAt,
        };

    /// <summary>A run the coordinator holds: counts from its recorder, figures from its statistics, workers as this job sees them.</summary>
    public static JobStatus Live(JobRun run, WorkerRegistry workers, DateTimeOffset now, TimeSpan noWorkerWarning)
    {
        var r = run.Record;
        var commits = run.Commits;
        if (commits is null)
        {
            // planning, or ended: the record has the counts; the statistics stay for the last run's histograms
            return FromRecord(r, workers, now) with
            {
                QuarantineByKind = run.Statistics.QuarantineByKind,
                Histograms = run.Statistics.Histograms(),
                Events = run.Timeline.Events,
                Throughput = run.Timeline.Series,
            };
        }
        var state = commits.State;
        var done = ImagesDone(run, commits, workers);
        var rate = run.Statistics.Rate(now, done);
        var running = run.Phase is RunningPhase;
        double? eta = running && rate > 0 ? (commits.Job.Plan.Images - done) / rate : null;
        string? waiting = null, warning = null;
        if (running && run.NoWorkerSince is { } since)
        {
            waiting = "waiting for workers";
            if (now - since >= noWorkerWarning) warning = NoWorkerWarning(now - since);
        }
        return new JobStatus(run.JobId, run.Phase.Kind, run.Spec.Output, state.Total, state.Committed, state.InFlight, state.Queued,
            commits.Job.Plan.Images, done, state.RowsCommitted, state.QuarantinedCommitted, rate, eta, Elapsed(r, now), r.Error,
            r.Dataset, run.Statistics.QuarantineByKind, run.Statistics.Histograms(), workers.Status(run.JobId, state.IsCommitted))
        {
            Run = r.Run, Corpus = r.Spec.Corpus, SubmittedAt = r.SubmittedAt, StartedAt = r.StartedAt, FinishedAt = r.FinishedAt,
            Waiting = waiting, Warning = warning, Events = run.Timeline.Events, Throughput = run.Timeline.Series,
        };
    }

    /// <summary>Images of the run committed plus those in flight on workers.</summary>
    public static long ImagesDone(JobRun run, CommitRecorder commits, WorkerRegistry workers) =>
        commits.State.ImagesCommitted + workers.InFlightImages(run.JobId, commits.State.IsCommitted);

    public static string NoWorkerWarning(TimeSpan waited) =>
        string.Format(CultureInfo.InvariantCulture,
            "no worker has joined this coordinator for {0:0} s: start workers whose --seed is this coordinator's address, " +
            "and check that they print the same cluster address", waited.TotalSeconds);

    // a job that does not run has no partition in flight: held attempts of it are not its progress
    private static bool NothingInFlight(string partitionId) => true;

    private static double Elapsed(JobRecord r, DateTimeOffset now) =>
        r.StartedAt is { } started ? Math.Max(0, ((r.FinishedAt ?? now) - started).TotalSeconds) : 0;
}
