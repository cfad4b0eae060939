using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Pipeline.Cluster.Coordinator;
using Pipeline.Cluster.Hosting;
using Pipeline.Cluster.Protocol;
using Pipeline.Jobs;
using Pipeline.Processing;
using Pipeline.Synth;

namespace Pipeline.Tests.Cluster;

/// <summary>A small generated corpus (real JPEGs, small sides so tests stay fast), shared by a test class.</summary>
public sealed class SmallCorpusFixture : IDisposable
{
    public SmallCorpusFixture()
    {
        Root = Directory.CreateTempSubdirectory("pipeline-corpus-").FullName;
        Summary = CorpusGenerator.Generate(new SynthOptions(Root, Scale: 0.0005, MaxSide: 96) { MinTrainImagesPerClass = 8 });
    }

    public string Root { get; }
    public SynthSummary Summary { get; }
    public long Images => Summary.TrainImages + Summary.ValImages;

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

public static class ClusterTestSupport
{
    /// <summary>Short failure detection for tests on one machine.</summary>
    public const string FastFailureHocon = """
        akka.cluster.split-brain-resolver.stable-after = 3s
        pipeline.coordinator.lease = 20s
        """;

    /// <summary>
    /// In one process, every message still goes through its serializer, as it would between nodes. (Separate
    /// processes need no such switch; Akka's own cluster events do not survive it when a node becomes unreachable.)
    /// </summary>
    public const string TestHocon = FastFailureHocon + "\nakka.actor.serialize-messages = on\n";

    public static async Task<IHost> StartNodeAsync(NodeOptions options, int threads = 1)
    {
        var host = PipelineNode.Build(options with { Local = true, ExtraHocon = TestHocon + "\n" + options.ExtraHocon }, JobServices.Create(threads));
        await host.StartAsync();
        return host;
    }

    public static string Address(IHost host) =>
        Akka.Cluster.Cluster.Get(host.Services.GetRequiredService<ActorSystem>()).SelfAddress.ToString();

    public static IActorRef JobManager(IHost host) => host.Services.GetRequiredService<ActorRegistry>().Get<JobManagerProxy>();

    public static Task<JobStatus> WaitForFinishAsync(IActorRef proxy, TimeSpan timeout) =>
        WaitForStatusAsync(proxy, status => status.IsFinished, "the job to finish", timeout);

    /// <summary>Asks the coordinator for its status until <paramref name="condition"/> holds; fails after the timeout.</summary>
    public static async Task<JobStatus> WaitForStatusAsync(IActorRef proxy, Func<JobStatus, bool> condition, string what, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var status = await proxy.Ask<JobStatus>(GetJobStatus.Instance, TimeSpan.FromSeconds(10));
            if (condition(status)) return status;
            if (clock.Elapsed > timeout)
                throw new TimeoutException($"waited {timeout} for {what}; the job is {status.State}: {status.Committed}/{status.Partitions}");
            await Task.Delay(250);
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static string Sql(string path) => path.Replace("'", "''");

    /// <summary>Rows, distinct image ids, and rows per (split, supercategory) of a merged dataset, read by DuckDB.</summary>
    public static (long Rows, long Distinct) CountImages(string dataset)
    {
        var glob = Sql(Path.Combine(dataset, "images", "**", "*.parquet"));
        var row = Pipeline.Tests.Storage.DuckDb.Query($"SELECT count(*), count(DISTINCT image_id) FROM read_parquet('{glob}', hive_partitioning=true)")[0];
        return (Convert.ToInt64(row[0]), Convert.ToInt64(row[1]));
    }

    public static List<JournalEntry> Journal(string output)
    {
        return CommitJournal.Read(new JobPaths(output).JournalFile);
    }
}
