namespace Pipeline.Embedding;

/// <summary>Where the model runs: <c>--device cpu|cuda</c>, or <c>auto</c> (CUDA when it starts, else the CPU).</summary>
public enum EmbeddingDevice
{
    Cpu,
    Cuda,
    Auto,
}

/// <summary>Arithmetic inside the model; the embeddings come out as float either way.</summary>
public enum EmbeddingPrecision
{
    Fp32,
    Fp16,
}

/// <summary>What crosses from the host to the model.</summary>
public enum EmbeddingInput
{
    /// <summary>uint8 NHWC pixels, normalised by nodes prepended to the graph: a quarter of the bytes of float.</summary>
    PixelsInGraph,

    /// <summary>Float tensors normalised on the host (C#), the classic path; kept for comparison.</summary>
    HostFloat,
}

/// <summary>Settings of the embedding stage (one model, one device, per process).</summary>
public sealed record EmbeddingOptions
{
    /// <summary>The ONNX image model; defaults to the CNTK ResNet-18 shipped next to the application.</summary>
    public string ModelPath { get; init; } = ModelSpec.DefaultModelPath;

    public ModelSpec Spec { get; init; } = ModelSpec.ResNet18Cntk;

    public EmbeddingDevice Device { get; init; } = EmbeddingDevice.Cpu;

    /// <summary><c>--fallback-cpu</c>: when CUDA cannot start, run on the CPU instead of failing.</summary>
    public bool FallbackToCpu { get; init; }

    public EmbeddingPrecision Precision { get; init; } = EmbeddingPrecision.Fp32;

    public EmbeddingInput Input { get; init; } = EmbeddingInput.PixelsInGraph;

    /// <summary>ONNX Runtime intra-op threads; 0 means all cores on the CPU and 1 on CUDA.</summary>
    public int IntraOpThreads { get; init; }

    public int CudaDeviceId { get; init; }

    /// <summary>
    /// CUDA only: InferenceSessions (each with its own CUDA stream) that batch runners spread over, so one batch's
    /// copies and launches overlap another's compute (H100, ResNet-18 fp16: 17k images/s with 1, 29-31k with 3).
    /// The CPU always uses one session.
    /// </summary>
    public int CudaSessions { get; init; } = 3;

    /// <summary>CUDA only: let ONNX Runtime run convolutions in NHWC (tensor-core friendly for float16).</summary>
    public bool CudaPreferNhwc { get; init; } = true;

    /// <summary>
    /// CUDA only: the batch runners' input buffers are CUDA-pinned memory. Off by default: on the H100 it measured no
    /// faster than pageable memory (ONNX Runtime copies bound inputs at bind time, synchronously, either way).
    /// </summary>
    public bool CudaPinnedInput { get; init; }

    /// <summary>
    /// CUDA only: pinned output buffers. ONNX Runtime 1.31 fails the run with them ("dst_data != src_data"); the
    /// runner then falls back to pageable memory. Kept to re-test later versions.
    /// </summary>
    public bool CudaPinnedOutput { get; init; }

    /// <summary>
    /// CUDA only: more ONNX Runtime CUDA provider options (e.g. "use_tf32", "cudnn_conv_algo_search"), set over ours.
    /// </summary>
    public IReadOnlyDictionary<string, string>? CudaProviderOptions { get; init; }

    /// <summary>Where rewritten models are cached, keyed by model hash and options.</summary>
    public string CacheDirectory { get; init; } = Path.Combine(Path.GetTempPath(), "pipeline-model-cache");
}
