using Pipeline.Cli.Commands;
using Pipeline.Cluster.Hosting;
using Pipeline.Jobs;
using Pipeline.Tests.Reliability;

namespace Pipeline.Tests.Cli;

/// <summary>
/// `pipeline run`'s embedded cluster: its own timings (the coordinator singleton found and given up within 100 ms, not
/// Akka's 1 s) layered over cluster-config/ and under a user's --config file, and `--verbose` showing its log.
/// </summary>
public sealed class EmbeddedClusterTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pipeline-embedded-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static NodeOptions RunNode(params string[] configFiles) => new()
    {
        Coordinator = true, Worker = true, Local = true, ConfigFiles = configFiles, DefaultsHocon = RunCommand.EmbeddedClusterHocon,
    };

    [Fact]
    public void Run_nodes_find_and_give_up_the_coordinator_within_100_ms()
    {
        var config = PipelineNode.LoadConfig(RunNode());
        Assert.Equal(TimeSpan.FromMilliseconds(100), config.GetTimeSpan("akka.cluster.singleton-proxy.singleton-identification-interval"));
        Assert.Equal(TimeSpan.FromMilliseconds(100), config.GetTimeSpan("akka.cluster.singleton.hand-over-retry-interval"));
        Assert.Equal(TimeSpan.FromMilliseconds(100), config.GetTimeSpan("akka.cluster.leader-actions-interval"));
        // the rest of cluster-config/ still applies: the singleton's name, the local transport
        Assert.Equal("job-manager", config.GetString("akka.cluster.singleton.singleton-name"));
        Assert.Equal("127.0.0.1", config.GetString("akka.remote.dot-netty.tcp.hostname"));
    }

    [Fact]
    public void Nodes_of_a_real_cluster_keep_akkas_intervals()
    {
        var config = PipelineNode.LoadConfig(new NodeOptions { Coordinator = true, Worker = true });
        Assert.Equal(TimeSpan.FromSeconds(1), config.GetTimeSpan("akka.cluster.singleton.hand-over-retry-interval"));
        Assert.NotEqual(TimeSpan.FromMilliseconds(100), config.GetTimeSpan("akka.cluster.singleton-proxy.singleton-identification-interval", TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void A_config_file_given_to_run_wins_over_the_embedded_timings()
    {
        var file = Path.Combine(_dir, "mine.conf");
        File.WriteAllText(file, "akka.cluster.singleton.hand-over-retry-interval = 2s\n");
        var config = PipelineNode.LoadConfig(RunNode(file));
        Assert.Equal(TimeSpan.FromSeconds(2), config.GetTimeSpan("akka.cluster.singleton.hand-over-retry-interval"));
        Assert.Equal(TimeSpan.FromMilliseconds(100), config.GetTimeSpan("akka.cluster.singleton-proxy.singleton-identification-interval"));
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Run_with_verbose_prints_the_clusters_log_and_without_it_stays_quiet()
    {
        var corpus = Path.Combine(_dir, "corpus");
        Pipeline.Synth.CorpusGenerator.Generate(new Pipeline.Synth.SynthOptions(corpus, Scale: 0.0002, MaxSide: 48));
        using var verbose = new PipelineProcess("verbose", ["run", "--corpus", corpus, "--out", Path.Combine(_dir, "a"), "--model", "none", "--verbose"]);
        Assert.True(await verbose.WaitForExitAsync(TimeSpan.FromMinutes(3)) == 0, verbose.Output);
        // the coordinator found through the singleton proxy, and the cluster left in order (CoordinatedShutdown's phases)
        Assert.Contains("Singleton identified at", verbose.Output);
        Assert.Contains("Performing phase [cluster-exiting]", verbose.Output);
        Assert.Contains("Exiting completed", verbose.Output);
        Assert.True(File.Exists(Path.Combine(_dir, "a", "dataset", "_SUCCESS")), verbose.Output);

        using var quiet = new PipelineProcess("quiet", ["run", "--corpus", corpus, "--out", Path.Combine(_dir, "b"), "--model", "none"]);
        Assert.True(await quiet.WaitForExitAsync(TimeSpan.FromMinutes(3)) == 0, quiet.Output);
        Assert.DoesNotContain("dbug:", quiet.Output);
        Assert.DoesNotContain("Performing phase", quiet.Output);
        Assert.Contains("succeeded", quiet.Output);
    }
}
