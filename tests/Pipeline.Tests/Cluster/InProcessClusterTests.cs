using Akka.Actor;
using Pipeline.Cluster.Hosting;
using Pipeline.Cluster.Protocol;
using Pipeline.Corpus;
using Pipeline.Jobs;
using static Pipeline.Tests.Cluster.ClusterTestSupport;

namespace Pipeline.Tests.Cluster;

/// <summary>A coordinator and two workers as three ActorSystems over loopback TCP in this process.</summary>
[Trait("Category", "Slow")]
public sealed class InProcessClusterTests(SmallCorpusFixture corpus) : IClassFixture<SmallCorpusFixture>, IDisposable
{
    private readonly string _output = Directory.CreateTempSubdirectory("pipeline-out-").FullName;

    public void Dispose() => Directory.Delete(_output, recursive: true);

    [Fact]
    public async Task Job_on_a_three_node_cluster_writes_every_image_exactly_once()
    {
        using var coordinator = await StartNodeAsync(new NodeOptions { Coordinator = true });
        var seed = Address(coordinator);
        using var worker1 = await StartNodeAsync(new NodeOptions { Worker = true, SeedNodes = [seed], WorkerName = "w1" });
        using var worker2 = await StartNodeAsync(new NodeOptions { Worker = true, SeedNodes = [seed], WorkerName = "w2" });
        try
        {
            var spec = new JobSpec { Corpus = corpus.Root, Output = _output, Model = "none", PartitionSize = 8 };
            var proxy = JobManager(worker1); // any node reaches the singleton through its proxy
            var accepted = await proxy.Ask<JobAccepted>(new SubmitJob(spec), TimeSpan.FromSeconds(60));
            var status = await WaitForFinishAsync(proxy, TimeSpan.FromMinutes(3));

            Assert.Equal(JobStates.Succeeded, status.State);
            Assert.Equal(accepted.JobId, status.JobId);
            Assert.Equal(corpus.Images, status.Images);
            var (rows, distinct) = CountImages(status.Dataset!);
            Assert.Equal(corpus.Images, rows);
            Assert.Equal(rows, distinct);
            // both workers pulled work
            var workers = Journal(_output).Where(e => e.Kind == JournalEntry.Committed).Select(e => e.Worker).Distinct().ToList();
            Assert.Contains("w1", workers);
            Assert.Contains("w2", workers);
            Assert.True(File.Exists(Path.Combine(status.Dataset!, "_SUCCESS")));
        }
        finally
        {
            await worker2.StopAsync();
            await worker1.StopAsync();
            await coordinator.StopAsync();
        }
    }

    [Fact]
    public async Task Rerunning_the_same_job_skips_committed_partitions()
    {
        using var node = await StartNodeAsync(new NodeOptions { Coordinator = true, Worker = true, WorkerName = "solo" });
        try
        {
            var spec = new JobSpec { Corpus = corpus.Root, Output = _output, Model = "none", PartitionSize = 16 };
            var proxy = JobManager(node);
            var first = await proxy.Ask<JobAccepted>(new SubmitJob(spec), TimeSpan.FromSeconds(60));
            Assert.Equal(JobStates.Succeeded, (await WaitForFinishAsync(proxy, TimeSpan.FromMinutes(2))).State);
            var manifest = File.ReadAllBytes(Path.Combine(_output, "dataset", "_manifest.json"));
            var assigned = Journal(_output).Count(e => e.Kind == JournalEntry.Assign);

            var second = await proxy.Ask<JobAccepted>(new SubmitJob(spec), TimeSpan.FromSeconds(60));
            var status = await WaitForFinishAsync(proxy, TimeSpan.FromMinutes(2));
            Assert.Equal(JobStates.Succeeded, status.State);
            Assert.Equal(first.JobId, second.JobId);
            Assert.Equal(assigned, Journal(_output).Count(e => e.Kind == JournalEntry.Assign)); // nothing handed out again
            Assert.Equal(manifest, File.ReadAllBytes(Path.Combine(_output, "dataset", "_manifest.json")));

            // a changed preprocessing setting is a different job
            var changed = await proxy.Ask<JobAccepted>(new SubmitJob(spec with { ImageSize = 192 }), TimeSpan.FromSeconds(60));
            Assert.NotEqual(first.JobId, changed.JobId);
            Assert.Equal(JobStates.Succeeded, (await WaitForFinishAsync(proxy, TimeSpan.FromMinutes(2))).State);
        }
        finally
        {
            await node.StopAsync();
        }
    }

    [Fact]
    public async Task Workers_report_where_embedding_time_goes()
    {
        using var node = await StartNodeAsync(new NodeOptions { Coordinator = true, Worker = true, WorkerName = "embedder" }, threads: 2);
        try
        {
            var proxy = JobManager(node);
            var spec = new JobSpec { Corpus = corpus.Root, Output = _output, Model = "resnet18", PartitionSize = 64, Splits = ["val"] };
            await proxy.Ask<JobAccepted>(new SubmitJob(spec), TimeSpan.FromSeconds(60));
            Assert.Equal(JobStates.Succeeded, (await WaitForFinishAsync(proxy, TimeSpan.FromMinutes(3))).State);
            // a heartbeat after the last batch carries the final figures
            var status = await WaitForStatusAsync(proxy, s => s.Workers is [{ Embedding.ModelBusySeconds: > 0 }],
                "a heartbeat with the model's busy time", TimeSpan.FromSeconds(30));
            var worker = Assert.Single(status.Workers);
            var embedding = Assert.IsType<EmbeddingTime>(worker.Embedding);
            Assert.Equal("cpu", embedding.Device);
            Assert.True(embedding.ModelBusySeconds > 0);
            Assert.True(embedding.WallSeconds >= embedding.ModelBusySeconds);
        }
        finally
        {
            await node.StopAsync();
        }
    }

    [Fact]
    public async Task Malformed_annotation_file_fails_the_job_with_a_message_naming_the_file()
    {
        var broken = Directory.CreateTempSubdirectory("pipeline-broken-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(broken, CorpusReader.TrainFileName), """{"images": [{"id": 1, "width": 10""");
            using var node = await StartNodeAsync(new NodeOptions { Coordinator = true, Worker = true });
            try
            {
                var proxy = JobManager(node);
                var reply = await proxy.Ask<object>(new SubmitJob(new JobSpec { Corpus = broken, Output = _output, Model = "none" }), TimeSpan.FromSeconds(60));
                var rejected = Assert.IsType<JobRejected>(reply);
                Assert.Contains("train2017.json", rejected.Reason);
                var status = await WaitForFinishAsync(proxy, TimeSpan.FromSeconds(30));
                Assert.Equal(JobStates.Failed, status.State);
                Assert.False(File.Exists(Path.Combine(_output, "dataset", "_SUCCESS")));
            }
            finally
            {
                await node.StopAsync();
            }
        }
        finally
        {
            Directory.Delete(broken, recursive: true);
        }
    }
}
