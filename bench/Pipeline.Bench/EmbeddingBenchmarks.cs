using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Pipeline.Embedding;

namespace Pipeline.Bench;

/// <summary>
/// CPU embedding throughput per batch (ResNet-18, 224×224): batch size × precision × where normalisation runs.
/// Images/s = Batch / mean time. Run: dotnet run -c Release --project bench/Pipeline.Bench -- --filter '*Embedding*'
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 2, iterationCount: 8)]
public class EmbeddingBenchmarks
{
    private EmbeddingSession _session = null!;
    private EmbeddingBatchRunner _runner = null!;

    [Params(1, 8, 32)]
    public int Batch { get; set; }

    [Params(EmbeddingPrecision.Fp32, EmbeddingPrecision.Fp16)]
    public EmbeddingPrecision Precision { get; set; }

    [Params(EmbeddingInput.PixelsInGraph, EmbeddingInput.HostFloat)]
    public EmbeddingInput Input { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _session = EmbeddingSession.Open(new EmbeddingOptions { Device = EmbeddingDevice.Cpu, Precision = Precision, Input = Input });
        _runner = _session.CreateBatchRunner(Batch);
        EmbeddingThroughput.SyntheticCrops(Batch, _session.CropBytes).CopyTo(_runner.Pixels);
    }

    [Benchmark]
    public float EmbedBatch()
    {
        _runner.Run(Batch);
        return _runner.Embeddings[^1];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _runner.Dispose();
        _session.Dispose();
    }
}
