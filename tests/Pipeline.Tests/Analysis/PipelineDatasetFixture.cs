using System.Text.Json;
using Akka.Actor;
using Microsoft.Extensions.Hosting;
using Pipeline.Analysis;
using Pipeline.Cluster.Hosting;
using Pipeline.Cluster.Protocol;
using Pipeline.Jobs;
using Pipeline.Synth;
using Pipeline.Tests.Cluster;

namespace Pipeline.Tests.Analysis;

/// <summary>
/// One dataset made the real way, shared by the analysis tests: a generated corpus (13 species, 385 train+val images
/// at 96 px) with two train JPEGs broken on purpose, run through the job on an in-process cluster node with the
/// packaged ResNet-18 (embeddings on the CPU) and stored 48 px copies. About 20 s on the 2-core VM.
/// </summary>
public sealed class PipelineDatasetFixture : IAsyncLifetime
{
    private readonly Lazy<Task<ProbeRuns>> _probes;

    public PipelineDatasetFixture()
    {
        Root = Directory.CreateTempSubdirectory("pipeline-analysis-").FullName;
        _probes = new Lazy<Task<ProbeRuns>>(RunProbesAsync);
    }

    public string Root { get; }
    public string Corpus => Path.Combine(Root, "corpus");
    public string Output => Path.Combine(Root, "out");
    public string Dataset => Path.Combine(Output, "dataset");
    public SynthSummary Summary { get; private set; } = null!;

    /// <summary>Train images of Aves that were truncated and overwritten with text before the job.</summary>
    public IReadOnlyList<string> BrokenFiles { get; private set; } = [];

    public async Task InitializeAsync()
    {
        Summary = CorpusGenerator.Generate(new SynthOptions(Corpus, Scale: 0.0005, MaxSide: 96, Threads: 2) { MinTrainImagesPerClass = 8 });
        BrokenFiles = BreakTwoTrainImages(Corpus);

        using IHost node = await ClusterTestSupport.StartNodeAsync(
            new NodeOptions { Coordinator = true, Worker = true, WorkerName = "analysis-worker" }, threads: 2);
        try
        {
            var spec = new JobSpec { Corpus = Corpus, Output = Output, Model = "resnet18", PartitionSize = 64, StoreShorter = 48 };
            IActorRef proxy = ClusterTestSupport.JobManager(node);
            object reply = await proxy.Ask<object>(new SubmitJob(spec), TimeSpan.FromSeconds(60));
            Assert.IsType<JobAccepted>(reply);
            JobStatus status = await ClusterTestSupport.WaitForFinishAsync(proxy, TimeSpan.FromMinutes(5));
            Assert.True(status.State == JobStates.Succeeded, $"job {status.State}: {status.Error}");
        }
        finally
        {
            await node.StopAsync();
        }
    }

    /// <summary>The probe with real labels and three seeds of the shuffled-label control, run once for every test.</summary>
    public Task<ProbeRuns> ProbesAsync() => _probes.Value;

    private async Task<ProbeRuns> RunProbesAsync()
    {
        ProbeResult real = await LinearProbe.RunAsync(Dataset);
        var shuffled = new List<ProbeResult>();
        foreach (int seed in (int[])[1, 2, 3])
            shuffled.Add(await LinearProbe.RunAsync(Dataset, new LinearProbeOptions { ShuffleLabels = true, Seed = seed }));
        // beside the dataset (OUT/probe.json, as `pipeline probe` writes them), where `pipeline report` looks for them
        await File.WriteAllTextAsync(Path.Combine(Output, ProbeResult.DefaultFileName(false)), real.ToJson());
        await File.WriteAllTextAsync(Path.Combine(Output, ProbeResult.DefaultFileName(true)), shuffled[0].ToJson());
        return new ProbeRuns(real, shuffled);
    }

    private static List<string> BreakTwoTrainImages(string corpus)
    {
        using JsonDocument train = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(corpus, "train2017.json")));
        var aves = new List<string>();
        foreach (JsonElement image in train.RootElement.GetProperty("images").EnumerateArray())
        {
            string name = image.GetProperty("file_name").GetString()!;
            if (name.StartsWith("train_val_images/Aves/", StringComparison.Ordinal)) aves.Add(name);
        }
        aves.Sort(StringComparer.Ordinal);
        string truncated = Path.Combine(corpus, aves[0]);
        byte[] bytes = File.ReadAllBytes(truncated);
        File.WriteAllBytes(truncated, bytes.AsSpan(0, bytes.Length / 2).ToArray());
        File.WriteAllText(Path.Combine(corpus, aves[1]), "<html>this is not a picture</html>");
        return [aves[0], aves[1]];
    }

    public Task DisposeAsync()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
        return Task.CompletedTask;
    }
}

public sealed record ProbeRuns(ProbeResult Real, IReadOnlyList<ProbeResult> Shuffled);

[CollectionDefinition(Name)]
public sealed class PipelineDatasetCollection : ICollectionFixture<PipelineDatasetFixture>
{
    public const string Name = "analysis of a pipeline-made dataset";
}
