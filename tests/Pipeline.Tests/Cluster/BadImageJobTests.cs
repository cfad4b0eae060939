using Akka.Actor;
using Pipeline.Cluster.Hosting;
using Pipeline.Cluster.Protocol;
using Pipeline.Corpus;
using Pipeline.Jobs;
using Pipeline.Synth;
using static Pipeline.Tests.Cluster.ClusterTestSupport;

namespace Pipeline.Tests.Cluster;

/// <summary>Bad files in a corpus cost exactly their own rows: each lands in errors.parquet with its reason, nowhere else.</summary>
[Trait("Category", "Slow")]
public sealed class BadImageJobTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("pipeline-bad-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Corpus_with_bad_images_finishes_with_them_quarantined_and_every_other_image_once()
    {
        var corpus = Path.Combine(_root, "corpus");
        var summary = CorpusGenerator.Generate(new SynthOptions(corpus, Scale: 0.0005, MaxSide: 96) { MinTrainImagesPerClass = 8 });
        var images = new CorpusReader(corpus).ReadImages([Splits.Train, Splits.Val]).ToList();
        string PathOf(int i) => Path.Combine(corpus, images[i].FileName);

        var expected = new Dictionary<long, string>();
        var bytes = File.ReadAllBytes(PathOf(0));
        File.WriteAllBytes(PathOf(0), bytes[..(bytes.Length / 2)]); expected[images[0].Id] = "Truncated";
        File.WriteAllBytes(PathOf(1), []); expected[images[1].Id] = "Empty";
        File.WriteAllText(PathOf(2), "<html>404 not found</html>"); expected[images[2].Id] = "NotAnImage";
        File.Delete(PathOf(3)); expected[images[3].Id] = "Missing";
        var outside = Path.Combine(_root, "outside.jpg");
        File.Copy(PathOf(4), outside);
        File.Delete(PathOf(4));
        File.CreateSymbolicLink(PathOf(4), outside); expected[images[4].Id] = "OutsideRoot";
        var header = File.ReadAllBytes(PathOf(5)); // a decompression bomb: the SOF header claims 30000 x 30000
        for (var i = 0; i + 8 < header.Length; i++)
        {
            if (header[i] != 0xFF || header[i + 1] is not (0xC0 or 0xC2)) continue;
            header[i + 5] = 30000 >> 8; header[i + 6] = 30000 & 0xFF; header[i + 7] = 30000 >> 8; header[i + 8] = 30000 & 0xFF;
            break;
        }
        File.WriteAllBytes(PathOf(5), header); expected[images[5].Id] = "TooLarge";

        var output = Path.Combine(_root, "out");
        using var node = await StartNodeAsync(new NodeOptions { Coordinator = true, Worker = true }, threads: 2);
        try
        {
            var proxy = JobManager(node);
            await proxy.Ask<JobAccepted>(new SubmitJob(new JobSpec { Corpus = corpus, Output = output, Model = "none", PartitionSize = 16 }),
                TimeSpan.FromSeconds(60));
            var status = await WaitForFinishAsync(proxy, TimeSpan.FromMinutes(2));
            Assert.Equal(JobStates.Succeeded, status.State);
            Assert.Equal(expected.Count, status.Quarantined);

            var dataset = status.Dataset!;
            var errors = Pipeline.Tests.Storage.DuckDb.Query(
                $"SELECT image_id, error, stage, message FROM read_parquet('{Sql(Path.Combine(dataset, "errors.parquet"))}') ORDER BY image_id");
            Assert.Equal(expected.Count, errors.Count);
            foreach (var row in errors)
            {
                var id = Convert.ToInt64(row[0]);
                Assert.Equal(expected[id], (string)row[1]!);
                Assert.False(string.IsNullOrWhiteSpace((string)row[3]!));
            }
            var (rows, distinct) = CountImages(dataset);
            Assert.Equal(summary.TrainImages + summary.ValImages - expected.Count, rows);
            Assert.Equal(rows, distinct);
            var leaked = Pipeline.Tests.Storage.DuckDb.Scalar(
                $"SELECT count(*) FROM read_parquet('{Sql(Path.Combine(dataset, "images", "**", "*.parquet"))}', hive_partitioning=true) " +
                $"WHERE image_id IN ({string.Join(",", expected.Keys)})");
            Assert.Equal(0L, Convert.ToInt64(leaked));
        }
        finally
        {
            await node.StopAsync();
        }
    }
}
