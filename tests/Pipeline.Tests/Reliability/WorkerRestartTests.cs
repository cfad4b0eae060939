using Akka.Actor;
using Pipeline.Cluster.Coordinator;
using Pipeline.Cluster.Protocol;
using Pipeline.Jobs;
using Pipeline.Tests.Api;

namespace Pipeline.Tests.Reliability;

/// <summary>
/// A worker that restarts under its own name (a Kubernetes pod keeps its name, so its default worker name too) may ask
/// for work before the cluster has noticed that its old incarnation died. The coordinator must re-queue what the old
/// incarnation held at once, not after the lease (120 s by default) runs out.
/// </summary>
[Trait("Category", "Faults")]
public sealed class WorkerRestartTests : Akka.TestKit.Xunit2.TestKit, IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("pipeline-restart-").FullName;

    public WorkerRestartTests() : base("akka.loglevel = WARNING") { }

    void IDisposable.Dispose()
    {
        Shutdown();
        Directory.Delete(_work, recursive: true);
    }

    [Fact]
    public void Worker_restarted_under_its_name_is_handed_its_old_incarnations_partitions_at_once()
    {
        // partitions that take minutes, and a five-minute lease: only the restart itself can free them in time
        var services = new PacedJobServices(partitions: 4, imagesPerPartition: 2, perImage: TimeSpan.FromMinutes(1));
        var settings = new CoordinatorSettings(Lease: TimeSpan.FromMinutes(5), Tick: TimeSpan.FromMilliseconds(100), MaxAttemptFailures: 3, StateDir: null);
        var manager = Sys.ActorOf(Props.Create(() => new JobManager(services, settings)));
        manager.Tell(new SubmitJob(new JobSpec { Corpus = _work, Output = Path.Combine(_work, "out"), Model = "none" }), TestActor);
        ExpectMsg<JobAccepted>(TimeSpan.FromSeconds(10));

        var before = CreateTestProbe();
        manager.Tell(new RequestWork("w1", 2, ["worker"]), before.Ref);
        var held = new[] { before.ExpectMsg<WorkAssigned>(), before.ExpectMsg<WorkAssigned>() };
        var after = CreateTestProbe(); // the restarted process: same name, new actor
        manager.Tell(new RequestWork("w1", 2, ["worker"]), after.Ref);
        var handed = new[] { after.ExpectMsg<WorkAssigned>(TimeSpan.FromSeconds(5)), after.ExpectMsg<WorkAssigned>(TimeSpan.FromSeconds(5)) };

        Assert.Equal(held.Select(w => w.Partition.Id).Order(), handed.Select(w => w.Partition.Id).Order());
        Assert.All(handed, w => Assert.Equal(2, w.Attempt));
        manager.Tell(GetJobStatus.Instance, TestActor);
        var status = ExpectMsg<JobStatus>();
        Assert.Equal(2, status.InFlight);
        Assert.Equal(2, status.Queued);
    }
}
