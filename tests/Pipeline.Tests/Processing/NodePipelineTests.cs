using Parquet;
using Pipeline.Imaging;
using Pipeline.Jobs;
using Pipeline.Processing;
using Pipeline.Storage;
using Pipeline.Tests.Cluster;

namespace Pipeline.Tests.Processing;

/// <summary>The node pipeline on a real generated corpus: several partitions through the same stages at once.</summary>
public sealed class NodePipelineTests(SmallCorpusFixture corpus) : IClassFixture<SmallCorpusFixture>, IDisposable
{
    private readonly string _output = Directory.CreateTempSubdirectory("pipeline-node-").FullName;

    public void Dispose() => Directory.Delete(_output, recursive: true);

    private async Task<PreparedJob> PlanAsync(JobServices services, int partitionSize)
    {
        var spec = new JobSpec { Corpus = corpus.Root, Output = _output, Model = "none", PartitionSize = partitionSize };
        return await Task.Run(() => services.Prepare(spec, CancellationToken.None));
    }

    [Fact]
    public async Task Every_partition_held_at_once_commits_its_own_rows_in_small_row_groups()
    {
        await using var services = JobServices.Create(2);
        var job = await PlanAsync(services, partitionSize: 24);
        Assert.True(job.Plan.Partitions.Length >= 3);
        var layout = ParquetLayoutOptions.Default with { RowGroupMaxRows = 5 };
        await using var pipeline = new NodePipeline(2, partLayout: layout);
        var decoder = DecoderRegistry.Create(null);
        var options = JobServices.ImageOptions(job.Spec);

        var outcomes = await Task.WhenAll(job.Plan.Partitions.Select(p =>
            pipeline.ProcessAsync(new PartitionWork(job.JobId, job.Spec, p, 1, "w"), decoder, options, null, null, CancellationToken.None)));

        Assert.Equal(job.Plan.Images, outcomes.Sum(o => (long)o.Rows + o.Quarantined));
        foreach (var (outcome, partition) in outcomes.Zip(job.Plan.Partitions))
        {
            Assert.Equal(partition.Id, outcome.PartitionId);
            Assert.Equal(partition.Images, outcome.Rows + outcome.Quarantined);
            var file = Path.Combine(_output, outcome.Part.RowsPath);
            await using var reader = await ParquetReader.CreateAsync(file);
            // rows went out five at a time as they finished, never the partition in one piece
            Assert.Equal((outcome.Rows + 4) / 5, reader.RowGroupCount);
        }
        // DuckDB reads every part back: each image exactly once, in its own partition's split and supercategory
        var glob = ClusterTestSupport.Sql(Path.Combine(_output, "parts", "*", "attempt-1.parquet"));
        var counts = Pipeline.Tests.Storage.DuckDb.Query($"SELECT count(*), count(DISTINCT image_id) FROM read_parquet('{glob}')")[0];
        Assert.Equal(outcomes.Sum(o => (long)o.Rows), Convert.ToInt64(counts[0]));
        Assert.Equal(Convert.ToInt64(counts[0]), Convert.ToInt64(counts[1]));

        var stages = pipeline.Figures();
        Assert.Equal([StageFigures.Read, StageFigures.Decode, StageFigures.Write], stages.Stages.Select(s => s.Stage));
        Assert.All(stages.Stages, s => Assert.Equal(job.Plan.Images, s.Images));
        Assert.NotNull(stages.Bottleneck);
    }

    [Fact]
    public async Task A_cancelled_partition_leaves_no_file_while_the_others_commit()
    {
        await using var services = JobServices.Create(1);
        var job = await PlanAsync(services, partitionSize: 24);
        await using var pipeline = new NodePipeline(1);
        var decoder = DecoderRegistry.Create(null);
        var options = JobServices.ImageOptions(job.Spec);
        using var cancel = new CancellationTokenSource();
        var partitions = job.Plan.Partitions;
        var first = pipeline.ProcessAsync(new PartitionWork(job.JobId, job.Spec, partitions[0], 1, "w"), decoder, options, null, null, CancellationToken.None);
        var doomed = pipeline.ProcessAsync(new PartitionWork(job.JobId, job.Spec, partitions[1], 1, "w"), decoder, options, null, null, cancel.Token);
        var last = pipeline.ProcessAsync(new PartitionWork(job.JobId, job.Spec, partitions[2], 1, "w"), decoder, options, null, null, CancellationToken.None);
        cancel.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => doomed);
        var outcomes = await Task.WhenAll(first, last);
        Assert.Equal(partitions[0].Images, outcomes[0].Rows + outcomes[0].Quarantined);
        Assert.Equal(partitions[2].Images, outcomes[1].Rows + outcomes[1].Quarantined);
        var doomedFolder = Path.Combine(_output, "parts", partitions[1].Id);
        Assert.True(!Directory.Exists(doomedFolder) || Directory.GetFiles(doomedFolder).Length == 0,
            "the cancelled attempt left files behind");
    }
}
