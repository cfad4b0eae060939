using System.Buffers;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Pipeline.Embedding;

/// <summary>
/// The embedding model of this process: one ONNX Runtime InferenceSession over the prepared model (CUDA: one per
/// stream, see <see cref="EmbeddingOptions.CudaSessions"/>), safe to call from many threads. Crops go in as uint8
/// RGB HWC (<see cref="ModelSpec.InputSize"/> square), embeddings come out as <see cref="Dimension"/> floats each.
/// </summary>
public sealed class EmbeddingSession : IDisposable
{
    private readonly InferenceSession[] _sessions;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly long[] _outputShape;
    private readonly RunOptions _runOptions = new();
    private int _nextSession;

    private EmbeddingSession(
        InferenceSession[] sessions, EmbeddingOptions options, PixelNormalisation normalisation, EmbeddingDevice device,
        string preparedModelPath, string? fallbackReason)
    {
        _sessions = sessions;
        Options = options;
        Normalisation = normalisation;
        Device = device;
        PreparedModelPath = preparedModelPath;
        FallbackReason = fallbackReason;
        ModelSha256 = ModelIdentity.Sha256(options.ModelPath);
        var session = sessions[0];
        InputName = session.InputNames[0];
        OutputName = session.OutputNames[0];
        _inputNames = [InputName];
        _outputNames = [OutputName];
        var dims = session.OutputMetadata[OutputName].Dimensions;
        _outputShape = new long[dims.Length];
        var dimension = 1;
        for (var i = 1; i < dims.Length; i++)
        {
            if (dims[i] <= 0)
                throw new InvalidDataException(
                    $"model output '{OutputName}' has an unknown size in dimension {i}; an embedding model needs a fixed size per image");
            dimension *= dims[i];
            _outputShape[i] = dims[i];
        }
        Dimension = dimension;
    }

    public EmbeddingOptions Options { get; }

    public PixelNormalisation Normalisation { get; }

    /// <summary>Where the model actually runs: <see cref="EmbeddingDevice.Cpu"/> or <see cref="EmbeddingDevice.Cuda"/>.</summary>
    public EmbeddingDevice Device { get; }

    /// <summary>Why CUDA is not used although it was asked for with a fallback, else null.</summary>
    public string? FallbackReason { get; }

    /// <summary>SHA-256 of the source model file: the model's identity in job hashes and the manifest.</summary>
    public string ModelSha256 { get; }

    public string PreparedModelPath { get; }

    /// <summary>
    /// Everything about the model that changes the embeddings (file hash, normalisation, precision): what a job hash
    /// must include so that a changed model or preprocessing starts a new job.
    /// </summary>
    public string JobKey => $"model-sha256={ModelSha256};{Normalisation.Spec.NormalisationKey(Normalisation.MeanImageSha256)};precision={Precision}";

    public string InputName { get; }

    public string OutputName { get; }

    /// <summary>Floats per embedding, read from the model's output shape (512 for ResNet-18).</summary>
    public int Dimension { get; }

    public int InputSize => Normalisation.Spec.InputSize;

    /// <summary>Bytes of one uint8 RGB HWC crop.</summary>
    public int CropBytes => Normalisation.Spec.CropBytes;

    public EmbeddingPrecision Precision => Options.Precision;

    public EmbeddingInput Input => Options.Input;

    /// <summary>ONNX Runtime sessions behind this one (CUDA streams); 1 on the CPU.</summary>
    public int SessionCount => _sessions.Length;

    /// <summary>
    /// Opens the model on the requested device. CUDA that cannot start throws <see cref="EmbeddingDeviceException"/>
    /// unless <see cref="EmbeddingOptions.FallbackToCpu"/> is set or the device is <see cref="EmbeddingDevice.Auto"/>.
    /// </summary>
    public static EmbeddingSession Open(EmbeddingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!File.Exists(options.ModelPath))
            throw new FileNotFoundException($"embedding model not found: {options.ModelPath} (use --model FILE, or --model none for no embeddings)", options.ModelPath);
        var normalisation = PixelNormalisation.Create(options.Spec);
        var pixelsInGraph = options.Input == EmbeddingInput.PixelsInGraph;
        var prepared = PreparedModelCache.GetOrCreate(options.ModelPath, normalisation, options.Precision, pixelsInGraph, options.CacheDirectory);

        if (options.Device == EmbeddingDevice.Cpu)
            return new EmbeddingSession([CreateCpuSession(prepared, options)], options, normalisation, EmbeddingDevice.Cpu, prepared, null);
        try
        {
            var count = Math.Max(1, options.CudaSessions);
            var sessions = new InferenceSession[count];
            try
            {
                for (var i = 0; i < count; i++) sessions[i] = CreateCudaSession(prepared, options);
            }
            catch
            {
                foreach (var s in sessions) s?.Dispose();
                throw;
            }
            return new EmbeddingSession(sessions, options, normalisation, EmbeddingDevice.Cuda, prepared, null);
        }
        catch (EmbeddingDeviceException e) when (options.FallbackToCpu || options.Device == EmbeddingDevice.Auto)
        {
            return new EmbeddingSession([CreateCpuSession(prepared, options)], options, normalisation, EmbeddingDevice.Cpu, prepared, e.Message);
        }
    }

    private static SessionOptions BaseOptions(int intraOpThreads)
    {
        var so = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = intraOpThreads,
        };
        // Spinning threads would steal the cores that decode the next crops.
        so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        return so;
    }

    private static InferenceSession CreateCpuSession(string modelPath, EmbeddingOptions options)
    {
        using var so = BaseOptions(options.IntraOpThreads > 0 ? options.IntraOpThreads : Environment.ProcessorCount);
        return new InferenceSession(modelPath, so);
    }

    private static InferenceSession CreateCudaSession(string modelPath, EmbeddingOptions options)
    {
        using var so = BaseOptions(options.IntraOpThreads > 0 ? options.IntraOpThreads : 1);
        try
        {
            using var cuda = new OrtCUDAProviderOptions();
            var settings = new Dictionary<string, string>
            {
                ["device_id"] = options.CudaDeviceId.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["cudnn_conv_algo_search"] = "EXHAUSTIVE",
                ["prefer_nhwc"] = options.CudaPreferNhwc ? "1" : "0",
            };
            if (options.CudaProviderOptions is { } extra)
            {
                foreach (var (key, value) in extra) settings[key] = value;
            }
            cuda.UpdateOptions(settings);
            so.AppendExecutionProvider_CUDA(cuda);
        }
        catch (Exception e) when (e is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException or TypeInitializationException)
        {
            throw EmbeddingDeviceException.CudaUnavailable(options.CudaDeviceId, e);
        }
        try
        {
            return new InferenceSession(modelPath, so);
        }
        catch (OnnxRuntimeException e) when (MentionsCuda(e.Message))
        {
            throw EmbeddingDeviceException.CudaUnavailable(options.CudaDeviceId, e);
        }
    }

    private static bool MentionsCuda(string message) =>
        message.Contains("CUDA", StringComparison.OrdinalIgnoreCase) || message.Contains("cudnn", StringComparison.OrdinalIgnoreCase) ||
        message.Contains("GPU", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Embeds <paramref name="count"/> crops (uint8 RGB HWC, back to back) into <paramref name="embeddings"/>
    /// (count × <see cref="Dimension"/> floats). Thread-safe; the caller's memory is used in place where possible.
    /// </summary>
    public unsafe void Embed(ReadOnlySpan<byte> cropsHwc, int count, Span<float> embeddings)
    {
        CheckBatch(cropsHwc.Length, count, embeddings.Length);
        var side = InputSize;
        var outputShape = OutputShape(count);
        var session = NextSession();
        fixed (byte* pixels = cropsHwc)
        fixed (float* output = embeddings)
        {
            using var outputValue = OrtValue.CreateTensorValueWithData(
                OrtMemoryInfo.DefaultInstance, TensorElementType.Float, outputShape, (IntPtr)output, (long)count * Dimension * sizeof(float));
            if (Input == EmbeddingInput.PixelsInGraph)
            {
                using var inputValue = OrtValue.CreateTensorValueWithData(
                    OrtMemoryInfo.DefaultInstance, TensorElementType.UInt8, [count, side, side, 3], (IntPtr)pixels, (long)count * CropBytes);
                session.Run(_runOptions, _inputNames, [inputValue], _outputNames, [outputValue]);
                return;
            }
            var values = count * CropBytes;
            var floats = ArrayPool<float>.Shared.Rent(values);
            try
            {
                Normalisation.Normalise(cropsHwc, count, floats);
                fixed (float* input = floats)
                {
                    using var inputValue = OrtValue.CreateTensorValueWithData(
                        OrtMemoryInfo.DefaultInstance, TensorElementType.Float, FloatInputShape(count), (IntPtr)input, (long)values * sizeof(float));
                    session.Run(_runOptions, _inputNames, [inputValue], _outputNames, [outputValue]);
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(floats);
            }
        }
    }

    /// <summary>Embeds one crop into a new array of <see cref="Dimension"/> floats.</summary>
    public float[] Embed(ReadOnlySpan<byte> cropHwc)
    {
        var embedding = new float[Dimension];
        Embed(cropHwc, 1, embedding);
        return embedding;
    }

    /// <summary>
    /// A runner with its own pinned host buffers and I/O binding for batches of up to <paramref name="capacity"/>
    /// crops; runners are spread over the CUDA sessions. One thread at a time per runner.
    /// </summary>
    public EmbeddingBatchRunner CreateBatchRunner(int capacity)
    {
        if (capacity < 1) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "a batch holds at least one crop");
        return new EmbeddingBatchRunner(this, NextSession(), capacity);
    }

    internal InferenceSession NextSession() =>
        _sessions.Length == 1 ? _sessions[0] : _sessions[(int)((uint)Interlocked.Increment(ref _nextSession) % (uint)_sessions.Length)];

    internal long[] OutputShape(int batch)
    {
        var shape = (long[])_outputShape.Clone();
        shape[0] = batch;
        return shape;
    }

    internal long[] FloatInputShape(int batch) => Normalisation.Spec.Layout == TensorLayout.Nchw
        ? [batch, 3, InputSize, InputSize]
        : [batch, InputSize, InputSize, 3];

    internal void CheckBatch(int cropBytes, int count, int embeddingFloats)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "a batch holds at least one crop");
        if (cropBytes != (long)count * CropBytes)
            throw new ArgumentException(
                $"{count} crops of {InputSize}x{InputSize} RGB need {(long)count * CropBytes} bytes, got {cropBytes}; " +
                $"crops must be uint8 RGB HWC of the model's input size");
        if (embeddingFloats < (long)count * Dimension)
            throw new ArgumentException($"{count} embeddings need {(long)count * Dimension} floats of output, got {embeddingFloats}");
    }

    public void Dispose()
    {
        foreach (var s in _sessions) s.Dispose();
        _runOptions.Dispose();
    }
}
