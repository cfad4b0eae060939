using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Pipeline.Embedding;

/// <summary>
/// One batch in flight: host buffers that ONNX Runtime reads and writes directly, bound per batch shape through
/// an <see cref="OrtIoBinding"/>. On CUDA the input buffer is CUDA-pinned (page-locked) memory, so the copy to the
/// GPU is a DMA transfer. Should ONNX Runtime refuse pinned buffers or the binding on the first run, the runner
/// falls back to pageable memory, then to plain Run, and says why in <see cref="SetupNote"/>. Fill <see cref="Pixels"/>, call <see cref="Run"/>, read
/// <see cref="Embeddings"/>. Not thread-safe: one runner per worker.
/// </summary>
public sealed unsafe class EmbeddingBatchRunner : IDisposable
{
    private readonly EmbeddingSession _owner;
    private readonly InferenceSession _session;
    private readonly OrtIoBinding _binding;
    private readonly RunOptions _runOptions = new();
    private readonly Dictionary<int, (OrtValue Input, OrtValue Output)> _shapes = [];
    private readonly bool _roundBatchUp;
    private OrtMemoryInfo? _pinnedInfo;
    private OrtAllocator? _pinnedAllocator;
    private HostBuffer _pixels = null!;
    private HostBuffer? _floatInput;
    private HostBuffer _output = null!;
    private bool _proven;
    private bool _useBinding = true;

    internal EmbeddingBatchRunner(EmbeddingSession owner, InferenceSession session, int capacity)
    {
        _owner = owner;
        _session = session;
        Capacity = capacity;
        var onCuda = owner.Device == EmbeddingDevice.Cuda;
        // cuDNN picks algorithms per input shape: a few power-of-two shapes keep that search bounded.
        _roundBatchUp = onCuda;
        var options = owner.Options;
        if (onCuda && (options.CudaPinnedInput || options.CudaPinnedOutput))
            _pinnedAllocator = TryPinnedAllocator(session, options.CudaDeviceId);
        _binding = session.CreateIoBinding();
        try
        {
            AllocateBuffers(
                _pinnedAllocator is not null && options.CudaPinnedInput,
                _pinnedAllocator is not null && options.CudaPinnedOutput);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Most crops one <see cref="Run"/> takes.</summary>
    public int Capacity { get; }

    /// <summary>True when the input buffer is CUDA-pinned (page-locked) memory.</summary>
    public bool UsesPinnedMemory { get; private set; }

    /// <summary>Why the runner gave up pinned buffers or I/O binding (it falls back rather than fail), else null.</summary>
    public string? SetupNote { get; private set; }

    /// <summary>False when ONNX Runtime refused the I/O binding and plain Run is used.</summary>
    public bool UsesIoBinding => _useBinding;

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
        // On CUDA every run has the runner's full shape: cuDNN's exhaustive algorithm search runs once per session, and
        // a partial batch never triggers a new search (measured on the H100: per-shape searches running concurrently in
        // several sessions failed with "operation not permitted when stream is capturing").
        var batch = _roundBatchUp ? Capacity : count;
        if (!_proven)
        {
            // first runs (the searches) one session at a time across the process, for the same reason
            lock (FirstRunGate) RunProving(count, batch);
            return;
        }
        Execute(count, batch);
        LastCount = count;
    }

    private static readonly Lock FirstRunGate = new();

    private void RunProving(int count, int batch)
    {
        try
        {
            Execute(count, batch);
        }
        catch (OnnxRuntimeException first) when (!_proven)
        {
            // The first run proves the setup; pinned buffers, then I/O binding, are given up only if it fails.
            if (_pinnedAllocator is not null)
            {
                FallBackToPageable("pinned buffers failed: " + first.Message);
                try
                {
                    Execute(count, batch);
                }
                catch (OnnxRuntimeException second)
                {
                    FallBackToPlainRun(second.Message);
                    Execute(count, batch);
                }
            }
            else
            {
                FallBackToPlainRun(first.Message);
                Execute(count, batch);
            }
        }
        _proven = true;
        LastCount = count;
    }

    private void Execute(int count, int batch)
    {
        if (_floatInput is not null)
        {
            var floats = new Span<float>((void*)_floatInput.Pointer, batch * _owner.CropBytes);
            _owner.Normalisation.Normalise(Pixels[..(count * _owner.CropBytes)], count, floats);
        }
        var (input, output) = ShapeValues(batch);
        if (!_useBinding)
        {
            _session.Run(_runOptions, [_owner.InputName], [input], [_owner.OutputName], [output]);
            return;
        }
        _binding.BindInput(_owner.InputName, input);
        // The host buffer is refilled as soon as Run returns: the copy to the device must be done by then.
        _binding.SynchronizeBoundInputs();
        _binding.BindOutput(_owner.OutputName, output);
        _session.RunWithBinding(_runOptions, _binding);
        _binding.SynchronizeBoundOutputs();
    }

    private void FallBackToPlainRun(string reason)
    {
        _useBinding = false;
        _binding.ClearBoundInputs();
        _binding.ClearBoundOutputs();
        SetupNote = (SetupNote is null ? "" : SetupNote + "; ") + "I/O binding failed, plain Run used: " + reason;
    }

    private void FallBackToPageable(string reason)
    {
        var pixels = _pixels;
        var floatInput = _floatInput;
        var output = _output;
        DisposeShapes();
        AllocateBuffers(pinnedInput: false, pinnedOutput: false);
        new Span<byte>((void*)pixels.Pointer, checked((int)pixels.Bytes)).CopyTo(Pixels);
        pixels.Dispose();
        floatInput?.Dispose();
        output.Dispose();
        _binding.ClearBoundInputs();
        _binding.ClearBoundOutputs();
        _pinnedAllocator?.Dispose();
        _pinnedAllocator = null;
        SetupNote = reason;
    }

    private void AllocateBuffers(bool pinnedInput, bool pinnedOutput)
    {
        var inputAllocator = pinnedInput ? _pinnedAllocator : null;
        _pixels = HostBuffer.Allocate(inputAllocator, (long)Capacity * _owner.CropBytes);
        _floatInput = _owner.Input == EmbeddingInput.HostFloat
            ? HostBuffer.Allocate(inputAllocator, (long)Capacity * _owner.CropBytes * sizeof(float))
            : null;
        _output = HostBuffer.Allocate(pinnedOutput ? _pinnedAllocator : null, (long)Capacity * _owner.Dimension * sizeof(float));
        UsesPinnedMemory = inputAllocator is not null;
    }

    private (OrtValue Input, OrtValue Output) ShapeValues(int batch)
    {
        if (_shapes.TryGetValue(batch, out var values)) return values;
        var side = _owner.InputSize;
        var input = _floatInput is null
            ? OrtValue.CreateTensorValueWithData(_pixels.Info, TensorElementType.UInt8, [batch, side, side, 3], _pixels.Pointer, (long)batch * _owner.CropBytes)
            : OrtValue.CreateTensorValueWithData(_floatInput.Info, TensorElementType.Float, _owner.FloatInputShape(batch), _floatInput.Pointer,
                (long)batch * _owner.CropBytes * sizeof(float));
        var output = OrtValue.CreateTensorValueWithData(
            _output.Info, TensorElementType.Float, _owner.OutputShape(batch), _output.Pointer, (long)batch * _owner.Dimension * sizeof(float));
        values = (input, output);
        _shapes[batch] = values;
        return values;
    }

    private OrtAllocator? TryPinnedAllocator(InferenceSession session, int deviceId)
    {
        try
        {
            _pinnedInfo = new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA_PINNED, OrtAllocatorType.DeviceAllocator, deviceId, OrtMemType.CpuOutput);
            return new OrtAllocator(session, _pinnedInfo);
        }
        catch (OnnxRuntimeException e)
        {
            // Pinned memory only speeds the copies up; pageable memory still works.
            SetupNote = "no CUDA pinned allocator: " + e.Message;
            return null;
        }
    }

    private void DisposeShapes()
    {
        foreach (var (input, output) in _shapes.Values)
        {
            input.Dispose();
            output.Dispose();
        }
        _shapes.Clear();
    }

    public void Dispose()
    {
        DisposeShapes();
        _binding?.Dispose();
        _runOptions.Dispose();
        _pixels?.Dispose();
        _floatInput?.Dispose();
        _output?.Dispose();
        _pinnedAllocator?.Dispose();
        _pinnedInfo?.Dispose();
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
