using System.Collections.Concurrent;
using System.Diagnostics;
using Akka.Actor;
using Akka.Cluster;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Cluster.Hosting;
using Pipeline.Cluster.Protocol;
using Pipeline.Imaging;
using Pipeline.Jobs;
using Pipeline.Processing;
using static Pipeline.Tests.Cluster.ClusterTestSupport;

namespace Pipeline.Tests.Cluster;

/// <summary>
/// A node whose every core decodes stays a healthy cluster member: the decode threads are dedicated threads, and the
/// thread pool that carries Akka's dispatcher (heartbeats, failure detection) is left to it.
/// </summary>
public sealed class SaturatedNodeTests(SmallCorpusFixture corpus) : IClassFixture<SmallCorpusFixture>, IDisposable
{
    private readonly string _output = Directory.CreateTempSubdirectory("pipeline-saturated-").FullName;
    private readonly string _loadOutput = Directory.CreateTempSubdirectory("pipeline-load-").FullName;

    public void Dispose()
    {
        Directory.Delete(_output, recursive: true);
        Directory.Delete(_loadOutput, recursive: true);
    }

    private sealed class Recorder : ReceiveActor
    {
        public Recorder(ConcurrentQueue<string> events)
        {
            Receive<ClusterEvent.UnreachableMember>(e => events.Enqueue($"unreachable {e.Member.Address}"));
            Receive<ClusterEvent.MemberRemoved>(e => events.Enqueue($"removed {e.Member.Address}"));
        }
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task A_worker_decoding_on_every_core_keeps_its_heartbeats_and_stays_reachable()
    {
        var cores = Environment.ProcessorCount;
        using var coordinator = await StartNodeAsync(new NodeOptions { Coordinator = true });
        using var worker = await StartNodeAsync(new NodeOptions { Worker = true, SeedNodes = [Address(coordinator)], WorkerName = "busy" }, threads: cores);
        var events = new ConcurrentQueue<string>();
        foreach (var host in new[] { coordinator, worker })
        {
            var system = host.Services.GetRequiredService<ActorSystem>();
            var recorder = system.ActorOf(Props.Create(() => new Recorder(events)));
            Akka.Cluster.Cluster.Get(system).Subscribe(recorder, ClusterEvent.InitialStateAsEvents,
                typeof(ClusterEvent.UnreachableMember), typeof(ClusterEvent.MemberRemoved));
        }
        var proxy = JobManager(coordinator);
        try
        {
            // the worker has joined and beats before the load starts
            await WaitForWorkerAsync(proxy);

            // every core decodes flat out for eight seconds: one more node pipeline in this process, a decode thread per
            // core, running the corpus's partitions again and again
            await using var services = JobServices.Create(cores);
            var loadSpec = new JobSpec { Corpus = corpus.Root, Output = _loadOutput, Model = "none", PartitionSize = 16 };
            var loadJob = await Task.Run(() => services.Prepare(loadSpec, CancellationToken.None));
            await using var load = new NodePipeline(cores);
            var decoder = DecoderRegistry.Create(null);
            var options = JobServices.ImageOptions(loadSpec);
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(8));
            var decoded = 0L;
            var loadTask = Task.Run(async () =>
            {
                for (var attempt = 1; !stop.IsCancellationRequested; attempt++)
                {
                    var round = loadJob.Plan.Partitions.Select(p => load.ProcessAsync(
                        new PartitionWork(loadJob.JobId, loadSpec, p, attempt, "load"), decoder, options, null, null, CancellationToken.None));
                    foreach (var outcome in await Task.WhenAll(round)) Interlocked.Add(ref decoded, outcome.Rows);
                }
            });

            // meanwhile the cluster runs a real job on the busy worker, and its heartbeats are watched from the coordinator
            var spec = new JobSpec { Corpus = corpus.Root, Output = _output, Model = "none", PartitionSize = 8 };
            await proxy.Ask<JobAccepted>(new SubmitJob(spec), TimeSpan.FromSeconds(30));
            var worstAge = TimeSpan.Zero;
            JobStatus status;
            do
            {
                status = await proxy.Ask<JobStatus>(GetJobStatus.Instance, TimeSpan.FromSeconds(10));
                foreach (var w in status.Workers)
                    if (DateTimeOffset.UtcNow - w.LastHeartbeat is var age && age > worstAge) worstAge = age;
                await Task.Delay(200);
            }
            while (!loadTask.IsCompleted);
            await loadTask;
            var final = await WaitForFinishAsync(proxy, TimeSpan.FromMinutes(1));

            Assert.True(decoded > 0);
            var busy = load.Figures().Stages.Single(s => s.Stage == StageFigures.Decode);
            Assert.True(busy.Utilisation > 0.5, $"the load kept the decoders only {busy.Utilisation:P0} busy");
            Assert.Equal(JobStates.Succeeded, final.State);
            Assert.Empty(events);
            // heartbeats every second; the coordinator's view was never more than three beats old
            Assert.True(worstAge < TimeSpan.FromSeconds(3), $"a heartbeat gap of {worstAge.TotalSeconds:F1} s under load");
        }
        finally
        {
            await worker.StopAsync();
            await coordinator.StopAsync();
        }
    }

    private static async Task WaitForWorkerAsync(IActorRef proxy)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            var status = await proxy.Ask<JobStatus>(GetJobStatus.Instance, TimeSpan.FromSeconds(10));
            if (status.Workers.Length > 0) return;
            await Task.Delay(200);
        }
        throw new TimeoutException("the worker never reached the coordinator");
    }
}
