using Pipeline.Corpus;
using Pipeline.Tests.Cluster;

namespace Pipeline.Tests.Cli;

/// <summary>README's main command, `pipeline run` with no corpus, as a user runs it.</summary>
[Trait("Category", "Slow")]
public sealed class MainCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pipeline-main-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Run_without_arguments_generates_a_demo_corpus_and_writes_a_dataset_with_512_float_embeddings()
    {
        var output = Path.Combine(_dir, "pipeline-output");
        using var run = new NodeProcess("run", "run", "--out", output);
        Assert.True(await run.WaitForExitAsync(TimeSpan.FromMinutes(5)) == 0, run.Output);

        var corpus = Path.Combine(output, "demo-corpus");
        var expected = new CorpusReader(corpus).ReadImages([Splits.Train, Splits.Val]).LongCount();
        var dataset = Path.Combine(output, "dataset");
        Assert.True(File.Exists(Path.Combine(dataset, "_SUCCESS")));
        var glob = ClusterTestSupport.Sql(Path.Combine(dataset, "images", "**", "*.parquet"));
        var row = Pipeline.Tests.Storage.DuckDb.Query(
            $"SELECT count(*), count(DISTINCT image_id), min(len(embedding)), max(len(embedding)), count(DISTINCT supercategory) " +
            $"FROM read_parquet('{glob}', hive_partitioning=true)")[0];
        Assert.Equal(expected, Convert.ToInt64(row[0]));
        Assert.Equal(expected, Convert.ToInt64(row[1]));
        Assert.Equal(512L, Convert.ToInt64(row[2]));
        Assert.Equal(512L, Convert.ToInt64(row[3]));
        Assert.Equal(13L, Convert.ToInt64(row[4]));
        Assert.Contains("dataset", run.Output);
    }
}
