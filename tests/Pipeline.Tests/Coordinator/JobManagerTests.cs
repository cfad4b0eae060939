using Akka.Actor;
using Akka.TestKit;
using Pipeline.Cluster.Coordinator;
using Pipeline.Cluster.Protocol;
using Pipeline.Jobs;
using Pipeline.Processing;
using Pipeline.Tests.Api;

namespace Pipeline.Tests.Coordinator;

/// <summary>
/// The coordinator message by message: a real JobManager actor, real part files and journal on disk, and test probes in
/// the place of workers and clients. Each test drives one phase change and checks what the coordinator answers.
/// </summary>
public sealed class JobManagerTests : Akka.TestKit.Xunit2.TestKit, IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly string _work = Directory.CreateTempSubdirectory("pipeline-coordinator-").FullName;

    public JobManagerTests() : base("akka.loglevel = INFO\nakka.actor.serialize-messages = on") { }

    void IDisposable.Dispose()
    {
        Shutdown();
        Directory.Delete(_work, recursive: true);
    }

    private CoordinatorSettings Settings(string? stateDir = null) =>
        new(Lease: TimeSpan.FromMinutes(5), Tick: TimeSpan.FromMilliseconds(100), MaxAttemptFailures: 3, StateDir: stateDir);

    private JobSpec Spec(string output) => new() { Corpus = _work, Output = Path.Combine(_work, output), Model = "none" };

    private IActorRef Start(IJobServices services, CoordinatorSettings? settings = null) =>
        Sys.ActorOf(Props.Create(() => new JobManager(services, settings ?? Settings(null))));

    private JobAccepted Submit(IActorRef manager, JobSpec spec)
    {
        manager.Tell(new SubmitJob(spec), TestActor);
        return ExpectMsg<JobAccepted>(Wait);
    }

    private JobStatus Status(IActorRef manager, string jobId)
    {
        manager.Tell(new GetJob(jobId), TestActor);
        return ExpectMsg<JobStatus>(Wait);
    }

    private JobStatus AwaitState(IActorRef manager, string jobId, JobPhase state)
    {
        JobStatus status = null!;
        AwaitCondition(() => (status = Status(manager, jobId)).State == state, Wait, TimeSpan.FromMilliseconds(50));
        return status;
    }

    /// <summary>Does the work a worker would: writes the attempt's part and reports it from <paramref name="worker"/>.</summary>
    private static PartitionOutcome Commit(IJobServices services, TestProbe worker, IActorRef manager, WorkAssigned work, string name = "w1")
    {
        var outcome = services.ExecuteAsync(new PartitionWork(work.JobId, work.Spec, work.Partition, work.Attempt, name), null, default)
            .GetAwaiter().GetResult();
        manager.Tell(new PartitionCommitted(work.JobId, outcome), worker.Ref);
        return outcome;
    }

    [Fact]
    public void A_stale_merged_of_another_run_is_dropped_and_logged()
    {
        var services = new PacedJobServices(partitions: 2, imagesPerPartition: 1, perImage: TimeSpan.FromMinutes(1));
        var manager = Start(services);
        var accepted = Submit(manager, Spec("out"));
        var summary = new MergeSummary(Path.Combine(_work, "out", "dataset"), 1, 2, 0, 0.1);

        // the job is running, not merging: a Merged of an earlier run, or of this run before its merge, moves nothing
        EventFilter.Warning(contains: "dropped a stale Merged").Expect(2, () =>
        {
            manager.Tell(new Merged(accepted.JobId, accepted.Run - 1, summary));
            manager.Tell(new Merged(accepted.JobId, accepted.Run, summary));
        });
        var status = Status(manager, accepted.JobId);
        Assert.Equal(JobPhase.Running, status.State);
        Assert.Null(status.Dataset);
        Assert.False(File.Exists(new JobPaths(Path.Combine(_work, "out")).SuccessFile));
    }

    [Fact]
    public void Cancel_during_the_merge_is_refused_and_the_next_job_gets_its_own_result()
    {
        var services = new PacedJobServices(partitions: 1, imagesPerPartition: 2, perImage: TimeSpan.Zero) { MergeTime = TimeSpan.FromSeconds(2) };
        var manager = Start(services);
        var first = Submit(manager, Spec("first"));
        var worker = CreateTestProbe();
        manager.Tell(new RequestWork("w1", 1, ["worker"]), worker.Ref);
        Commit(services, worker, manager, worker.ExpectMsg<WorkAssigned>(Wait));
        Assert.Equal(CommitVerdict.Accepted, worker.ExpectMsg<CommitAck>(Wait).Verdict);
        AwaitState(manager, first.JobId, JobPhase.Merging);

        manager.Tell(new CancelJob(first.JobId), TestActor);
        var refused = ExpectMsg<JobRejected>(Wait);
        Assert.Equal(RejectionReason.Merging, refused.Kind);
        Assert.Contains("merging", refused.Reason);
        var second = Submit(manager, Spec("second"));
        Assert.Equal(JobPhase.Queued, second.State);
        Assert.True(second.Run > first.Run);

        var done = AwaitState(manager, first.JobId, JobPhase.Succeeded);
        Assert.Equal(Path.Combine(_work, "first", "dataset"), done.Dataset);
        var next = AwaitState(manager, second.JobId, JobPhase.Running);
        Assert.Null(next.Dataset);
        Assert.Equal(0, next.Committed);
        Assert.False(File.Exists(new JobPaths(Path.Combine(_work, "second")).SuccessFile));
        // the worker's count belongs to the job: nothing yet for the second job
        Assert.Equal(0, Assert.Single(next.Workers).ImagesDone);
        Assert.Equal(2, Assert.Single(done.Workers).ImagesDone);
    }

    [Fact]
    public void Jobs_run_one_at_a_time_in_the_order_they_were_submitted()
    {
        var services = new PacedJobServices(partitions: 1, imagesPerPartition: 1, perImage: TimeSpan.FromMinutes(1));
        var manager = Start(services);
        var a = Submit(manager, Spec("a"));
        var b = Submit(manager, Spec("b"));
        var c = Submit(manager, Spec("c"));
        Assert.Equal([JobPhase.Running, JobPhase.Queued, JobPhase.Queued], new[] { a.State, b.State, c.State });

        manager.Tell(ListJobs.Instance, TestActor);
        var listed = ExpectMsg<JobList>(Wait).Jobs;
        Assert.Equal(new[] { a.JobId, b.JobId, c.JobId }, listed.Select(j => j.JobId!).ToArray());

        manager.Tell(new CancelJob(a.JobId), TestActor);
        Assert.Equal(JobPhase.Cancelled, ExpectMsg<JobStatus>(Wait).State);
        AwaitState(manager, b.JobId, JobPhase.Running);
        Assert.Equal(JobPhase.Queued, Status(manager, c.JobId).State);
        // a queued job can be cancelled too, and the queue skips it
        manager.Tell(new CancelJob(c.JobId), TestActor);
        Assert.Equal(JobPhase.Cancelled, ExpectMsg<JobStatus>(Wait).State);
        Assert.Equal(JobPhase.Running, Status(manager, b.JobId).State);
    }

    [Fact]
    public void The_same_job_submitted_again_gets_the_same_id_whatever_its_state()
    {
        var services = new PacedJobServices(partitions: 1, imagesPerPartition: 1, perImage: TimeSpan.FromMinutes(1));
        var manager = Start(services);
        var spec = Spec("out");
        var first = Submit(manager, spec);
        var again = Submit(manager, spec with { Splits = ["train", "val"] }); // an equal array, not the same one
        Assert.Equal(first.JobId, again.JobId);
        Assert.Equal(first.Run, again.Run);
        manager.Tell(ListJobs.Instance, TestActor);
        Assert.Single(ExpectMsg<JobList>(Wait).Jobs);

        manager.Tell(new CancelJob(first.JobId), TestActor);
        ExpectMsg<JobStatus>(Wait);
        var rerun = Submit(manager, spec);
        Assert.Equal(first.JobId, rerun.JobId);
        Assert.True(rerun.Run > first.Run, "a finished job submitted again is a new run of the same job");
        Assert.Equal(JobPhase.Running, AwaitState(manager, first.JobId, JobPhase.Running).State);
    }

    [Fact]
    public void A_restarted_coordinator_reloads_its_history_and_resumes_the_running_job_from_its_journal()
    {
        var stateDir = Path.Combine(_work, "state");
        var services = new PacedJobServices(partitions: 2, imagesPerPartition: 1, perImage: TimeSpan.Zero);
        var manager = Start(services, Settings(stateDir));
        var running = Submit(manager, Spec("a"));
        var queued = Submit(manager, Spec("b"));
        var worker = CreateTestProbe();
        manager.Tell(new RequestWork("w1", 1, ["worker"]), worker.Ref);
        Commit(services, worker, manager, worker.ExpectMsg<WorkAssigned>(Wait));
        Assert.Equal(CommitVerdict.Accepted, worker.ExpectMsg<CommitAck>(Wait).Verdict);
        Watch(manager);
        Sys.Stop(manager);
        ExpectTerminated(manager);

        var restarted = Start(services, Settings(stateDir));
        var resumed = AwaitState(restarted, running.JobId, JobPhase.Running);
        Assert.Equal(1, resumed.Committed); // from the journal, not redone
        Assert.True(resumed.Run > queued.Run, "the resumed run has a run number of its own");
        Assert.Equal(JobPhase.Queued, Status(restarted, queued.JobId).State);
        restarted.Tell(new RequestWork("w1", 1, ["worker"]), worker.Ref);
        var work = worker.ExpectMsg<WorkAssigned>(Wait);
        Assert.Equal(running.JobId, work.JobId);
        Commit(services, worker, restarted, work);
        Assert.Equal(CommitVerdict.Accepted, worker.ExpectMsg<CommitAck>(Wait).Verdict);
        Assert.Equal(JobPhase.Succeeded, AwaitState(restarted, running.JobId, JobPhase.Succeeded).State);
        AwaitState(restarted, queued.JobId, JobPhase.Running);
    }

    [Fact]
    public void A_late_part_of_an_ended_job_is_deleted_and_a_recorded_one_is_kept()
    {
        var services = new PacedJobServices(partitions: 2, imagesPerPartition: 1, perImage: TimeSpan.Zero);
        var manager = Start(services);
        var spec = Spec("out");
        var job = Submit(manager, spec);
        var worker = CreateTestProbe();
        manager.Tell(new RequestWork("w1", 2, ["worker"]), worker.Ref);
        var works = new[] { worker.ExpectMsg<WorkAssigned>(Wait), worker.ExpectMsg<WorkAssigned>(Wait) };
        var recorded = Commit(services, worker, manager, works[0]);
        Assert.Equal(CommitVerdict.Accepted, worker.ExpectMsg<CommitAck>(Wait).Verdict);
        manager.Tell(new CancelJob(job.JobId), TestActor);
        ExpectMsg<JobStatus>(Wait);
        Assert.Equal(job.JobId, worker.ExpectMsg<AbandonJob>(Wait).JobId);

        // a frozen worker wakes after the end: its part was never recorded, so it goes; the recorded one stays for a rerun
        var late = Commit(services, worker, manager, works[1]);
        Assert.Equal(CommitVerdict.Unknown, worker.ExpectMsg<CommitAck>(Wait).Verdict);
        var latePath = Pipeline.Storage.PartFiles.Resolve(spec.Output, late.Part.RowsPath);
        AwaitCondition(() => !Directory.Exists(Path.GetDirectoryName(latePath)), Wait);
        manager.Tell(new PartitionCommitted(job.JobId, recorded), worker.Ref);
        Assert.Equal(CommitVerdict.Unknown, worker.ExpectMsg<CommitAck>(Wait).Verdict);
        // the behaviour under test is that nothing happens, so there is no condition to wait on: the deletion runs off
        // the mailbox, so give it the time it took above before checking that the recorded part is still there
        Thread.Sleep(300);
        Assert.True(File.Exists(Pipeline.Storage.PartFiles.Resolve(spec.Output, recorded.Part.RowsPath)));
    }

    [Fact]
    public void A_running_job_with_no_worker_says_it_waits_for_workers_and_warns_after_a_while()
    {
        var services = new PacedJobServices(partitions: 1, imagesPerPartition: 1, perImage: TimeSpan.Zero);
        var manager = Start(services, Settings() with { NoWorkerWarning = TimeSpan.FromMilliseconds(500) });
        var job = Submit(manager, Spec("out"));
        JobStatus status = null!;
        AwaitCondition(() => (status = Status(manager, job.JobId)).Waiting is not null, Wait);
        Assert.Equal("waiting for workers", status.Waiting);
        AwaitCondition(() => (status = Status(manager, job.JobId)).Warning is not null, Wait);
        Assert.Contains("no worker has joined", status.Warning);

        manager.Tell(new RequestWork("w1", 1, ["worker"]), CreateTestProbe().Ref);
        AwaitCondition(() => (status = Status(manager, job.JobId)).Waiting is null, Wait);
        Assert.Null(status.Warning);
    }

    [Fact]
    public void A_job_that_cannot_be_identified_is_rejected_as_invalid()
    {
        var manager = Start(new PacedJobServices(1, 1, TimeSpan.Zero));
        manager.Tell(new SubmitJob(Spec("out") with { Corpus = Path.Combine(_work, "missing") }), TestActor);
        var rejected = ExpectMsg<JobRejected>(Wait);
        Assert.Equal(RejectionReason.Invalid, rejected.Kind);
        Assert.Contains("does not exist", rejected.Reason);
        manager.Tell(new CancelJob("0123456789abcdef"), TestActor);
        Assert.Equal(RejectionReason.UnknownJob, ExpectMsg<JobRejected>(Wait).Kind);
    }
}
