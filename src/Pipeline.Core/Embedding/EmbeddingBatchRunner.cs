using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Pipeline.Embedding;

/// <summary>
/// One batch in flight: host buffers that ONNX Runtime reads and writes directly (CUDA-pinned memory on CUDA, so
/// the copies to and from the GPU are DMA transfers), bound once per batch shape through an <see cref="OrtIoBinding"/>.
/// Fill <see cref="Pixels"/>, call <see cref="Run"/>, read <see cref="Embeddings"/>. Not thread-safe: one per worker.
/// </summary>
public sealed unsafe class EmbeddingBatchRunner : IDisposable
{
    private readonly EmbeddingSession _owner;
    private readonly InferenceSession _session;
    private readonly OrtIoBinding _binding;
    private readonly RunOptions _runOptions = new();
    private readonly HostBuffer _pixels;
    private readonly HostBuffer? _floatInput;
    private readonly HostBuffer _output;
    private readonly Dictionary<int, (OrtValue Input, OrtValue Output)> _shapes = [];
    private readonly bool _roundBatchUp;
    private readonly OrtAllocator? _pinnedAllocator;

    internal EmbeddingBatchRunner(EmbeddingSession owner, InferenceSession session, int capacity)
    {
        _owner = owner;
        _session = session;
        Capacity = capacity;
        var onCuda = owner.Device == EmbeddingDevice.Cuda;
        // cuDNN picks algorithms per input shape: a few power-of-two shapes keep that search bounded.
        _roundBatchUp = onCuda;
        var pinned = onCuda ? TryPinnedAllocator(session, owner.Options.CudaDeviceId) : null;
        _pinnedAllocator = pinned;
        try
        {
            _pixels = HostBuffer.Allocate(pinned, (long)capacity * owner.CropBytes);
            if (owner.Input == EmbeddingInput.HostFloat)
                _floatInput = HostBuffer.Allocate(pinned, (long)capacity * owner.CropBytes * sizeof(float));
            _output = HostBuffer.Allocate(pinned, (long)capacity * owner.Dimension * sizeof(float));
            _binding = session.CreateIoBinding();
        }
        catch
        {
            _pixels?.Dispose();
            _floatInput?.Dispose();
            _output?.Dispose();
            pinned?.Dispose();
            throw;
        }
        UsesPinnedMemory = pinned is not null;
    }

    /// <summary>Most crops one <see cref="Run"/> takes.</summary>
    public int Capacity { get; }

    /// <summary>True when the host buffers are CUDA-pinned (page-locked) memory.</summary>
    public bool UsesPinnedMemory { get; }

    /// <summary>Capacity crops, uint8 RGB HWC back to back; write the crops of the next batch here.</summary>
    public Span<byte> Pixels => new((void*)_pixels.Pointer, checked((int)_pixels.Bytes));

    /// <summary>The crop slot <paramref name="index"/> of <see cref="Pixels"/>.</summary>
    public Span<byte> Crop(int index) => Pixels.Slice(index * _owner.CropBytes, _owner.CropBytes);

    /// <summary>The embeddings of the last <see cref="Run"/>: its count × Dimension floats.</summary>
    public ReadOnlySpan<float> Embeddings => new((void*)_output.Pointer, LastCount * _owner.Dimension);

    public int LastCount { get; private set; }

    /// <summary>Embeds the first <paramref name="count"/> crops of <see cref="Pixels"/>.</summary>
    public void Run(int count)
    {
        if (count < 1 || count > Capacity)
            throw new ArgumentOutOfRangeException(nameof(count), count, $"a run takes 1..{Capacity} crops");
        var batch = _roundBatchUp ? Math.Min(Capacity, (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)count)) : count;
        if (_floatInput is not null)
        {
            var floats = new Span<float>((void*)_floatInput.Pointer, batch * _owner.CropBytes);
            _owner.Normalisation.Normalise(Pixels[..(count * _owner.CropBytes)], count, floats);
        }
        var (input, output) = ShapeValues(batch);
        _binding.BindInput(_owner.InputName, input);
        _binding.BindOutput(_owner.OutputName, output);
        _session.RunWithBinding(_runOptions, _binding);
        _binding.SynchronizeBoundOutputs();
        LastCount = count;
    }

    private (OrtValue Input, OrtValue Output) ShapeValues(int batch)
    {
        if (_shapes.TryGetValue(batch, out var values)) return values;
        var side = _owner.InputSize;
        OrtValue input = _floatInput is null
            ? OrtValue.CreateTensorValueWithData(_pixels.Info, TensorElementType.UInt8, [batch, side, side, 3], _pixels.Pointer, (long)batch * _owner.CropBytes)
            : OrtValue.CreateTensorValueWithData(_floatInput.Info, TensorElementType.Float, _owner.FloatInputShape(batch), _floatInput.Pointer,
                (long)batch * _owner.CropBytes * sizeof(float));
        var output = OrtValue.CreateTensorValueWithData(
            _output.Info, TensorElementType.Float, _owner.OutputShape(batch), _output.Pointer, (long)batch * _owner.Dimension * sizeof(float));
        values = (input, output);
        _shapes[batch] = values;
        return values;
    }

    private static OrtAllocator? TryPinnedAllocator(InferenceSession session, int deviceId)
    {
        try
        {
            using var info = new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA_PINNED, OrtAllocatorType.DeviceAllocator, deviceId, OrtMemType.CpuOutput);
            return new OrtAllocator(session, info);
        }
        catch (OnnxRuntimeException)
        {
            // Pinned memory only speeds the copies up; pageable memory still works.
            return null;
        }
    }

    public void Dispose()
    {
        foreach (var (input, output) in _shapes.Values)
        {
            input.Dispose();
            output.Dispose();
        }
        _shapes.Clear();
        _binding.Dispose();
        _runOptions.Dispose();
        _pixels.Dispose();
        _floatInput?.Dispose();
        _output.Dispose();
        _pinnedAllocator?.Dispose();
    }

    /// <summary>A block of host memory with the ORT memory info that describes it (CPU or CUDA-pinned).</summary>
    private sealed class HostBuffer : IDisposable
    {
        private OrtValue? _owner;

        private HostBuffer(IntPtr pointer, long bytes, OrtMemoryInfo info, OrtValue? owner)
        {
            Pointer = pointer;
            Bytes = bytes;
            Info = info;
            _owner = owner;
        }

        public IntPtr Pointer { get; private set; }

        public long Bytes { get; }

        public OrtMemoryInfo Info { get; }

        public static HostBuffer Allocate(OrtAllocator? pinned, long bytes)
        {
            if (pinned is not null)
            {
                // A tensor allocated by the pinned allocator owns the memory; its data pointer is stable (native memory).
                var owner = OrtValue.CreateAllocatedTensorValue(pinned, TensorElementType.UInt8, [bytes]);
                var span = owner.GetTensorMutableRawData();
                fixed (byte* p = span)
                {
                    return new HostBuffer((IntPtr)p, bytes, pinned.Info, owner);
                }
            }
            var memory = NativeMemory.AlignedAlloc((nuint)bytes, 64);
            return new HostBuffer((IntPtr)memory, bytes, OrtMemoryInfo.DefaultInstance, null);
        }

        public void Dispose()
        {
            if (Pointer == IntPtr.Zero) return;
            if (_owner is not null) _owner.Dispose();
            else NativeMemory.AlignedFree((void*)Pointer);
            _owner = null;
            Pointer = IntPtr.Zero;
        }
    }
}
