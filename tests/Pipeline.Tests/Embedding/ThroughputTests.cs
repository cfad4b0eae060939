using Pipeline.Embedding;

namespace Pipeline.Tests.Embedding;

[Collection(EmbeddingCollection.Name)]
public sealed class ThroughputTests(EmbeddingFixture fixture)
{
    [Fact]
    public void Bench_tries_each_candidate_batch_and_measures_the_fastest_on_the_cpu()
    {
        var result = EmbeddingThroughput.Run(fixture.PixelsSession, new EmbeddingThroughputOptions
        {
            BatchCandidates = [1, 2],
            TrialSeconds = 0.2,
            Seconds = 0.3,
            WarmupBatches = 1,
        });
        Assert.Equal(EmbeddingDevice.Cpu, result.Device);
        Assert.Equal(EmbeddingPrecision.Fp32, result.Precision);
        Assert.Equal(1, result.BatchesInFlight);
        Assert.Equal([1, 2], [result.AutoTune[0].BatchSize, result.AutoTune[1].BatchSize]);
        var fastest = result.AutoTune[0].ImagesPerSecond >= result.AutoTune[1].ImagesPerSecond ? 1 : 2;
        Assert.Equal(fastest, result.BatchSize);
        Assert.True(result.Measured.Images >= result.BatchSize);
        Assert.True(result.ImagesPerSecond > 0);
        Assert.InRange(result.Measured.P50BatchMs, 0.01, result.Measured.P95BatchMs);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void Fixed_batch_size_skips_the_auto_tune()
    {
        var result = EmbeddingThroughput.Run(fixture.PixelsSession, new EmbeddingThroughputOptions { BatchSize = 2, Seconds = 0.2, WarmupBatches = 1 });
        Assert.Empty(result.AutoTune);
        Assert.Equal(2, result.BatchSize);
        Assert.Equal(0, result.Measured.Images % 2);
    }
}
