using Pipeline.Cluster.Protocol;
using Pipeline.Processing;
using Pipeline.Synth;

namespace Pipeline.Tests.Api;

/// <summary>A job submitted over HTTP and run by the real job services (decode, boxes, parts, merge) on a generated corpus.</summary>
[Trait("Category", "Slow")]
public sealed class RealJobTests
{
    [Fact]
    public async Task Job_submitted_over_http_writes_the_dataset_and_reports_its_statistics()
    {
        await using var node = await ApiTestNode.StartAsync(JobServices.Create(2));
        var corpus = CorpusGenerator.Generate(new SynthOptions(node.Corpus, Scale: 0.0005, MaxSide: 96) { MinTrainImagesPerClass = 8 });
        await node.WaitReadyAsync();

        var id = await node.SubmitAsync(node.Spec() with { PartitionSize = 50 });
        var done = await node.WaitForAsync(j => j.Finished, TimeSpan.FromSeconds(60), "the end of the real job");

        Assert.True(done.State == JobPhase.Succeeded, done.Error);
        Assert.Equal(id, done.JobId);
        Assert.Equal(corpus.TrainImages + corpus.ValImages, done.Images);
        Assert.Equal(done.Images, done.Rows + done.Quarantined);
        Assert.True(File.Exists(Path.Combine(done.Dataset!, "_SUCCESS")));
        // boxes exist only for the nine boxed super-classes; each histogram's bins add up to its box count
        Assert.NotEmpty(done.Histograms);
        Assert.All(done.Histograms, h =>
        {
            Assert.Equal(h.Boxes, h.Counts.Sum());
            Assert.Equal(h.Counts.Length + 1, h.BinEdges.Length);
        });
        Assert.Equal(corpus.Boxes, done.Histograms.Sum(h => h.Boxes));
    }
}
