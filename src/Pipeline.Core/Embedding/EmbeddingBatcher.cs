using System.Diagnostics;
using System.Threading.Channels;

namespace Pipeline.Embedding;

/// <summary>
/// Gathers crops from many decode threads into batches for one <see cref="EmbeddingSession"/>: a batch is run when
/// it is full or when its first crop has waited <see cref="MaxWait"/>. Up to <c>batchesInFlight</c> batches are
/// filled or run at once (on CUDA one batch's copies overlap another's compute). The queue is bounded, so callers
/// wait when the model falls behind, and memory stays bounded.
/// </summary>
public sealed class EmbeddingBatcher : IAsyncDisposable
{
    private readonly EmbeddingSession _session;
    private readonly Channel<PendingCrop> _queue;
    private readonly Channel<BatchSlot> _freeSlots;
    private readonly BatchSlot[] _slots;
    private readonly Task _collector;
    private Task<bool>? _pendingWait;
    private long _batches;
    private long _fullBatches;
    private long _images;
    private int _disposed;
    // when the model runs and when it waits: the share of wall time with no batch running is time the device
    // waited for decoded images; producer wait is time decode threads waited for the model (a full queue)
    private readonly Lock _busyGate = new();
    private readonly long _createdAt = Stopwatch.GetTimestamp();
    private int _running;
    private long _busySince;
    private long _busyTicks;
    private long _producerWaitTicks;

    /// <param name="batchesInFlight">0 picks one per CUDA session on CUDA, and 2 on the CPU (one fills while one runs).</param>
    public EmbeddingBatcher(EmbeddingSession session, int batchSize = 32, TimeSpan? maxWait = null, int batchesInFlight = 0)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "a batch holds at least one crop");
        if (batchesInFlight < 0) throw new ArgumentOutOfRangeException(nameof(batchesInFlight), batchesInFlight, "batches in flight cannot be negative");
        if (batchesInFlight == 0) batchesInFlight = session.Device == EmbeddingDevice.Cuda ? session.SessionCount : 2;
        _session = session;
        BatchSize = batchSize;
        MaxWait = maxWait ?? TimeSpan.FromMilliseconds(20);
        if (MaxWait < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(maxWait), MaxWait, "the maximum wait cannot be negative");
        _queue = Channel.CreateBounded<PendingCrop>(new BoundedChannelOptions(batchSize * batchesInFlight)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _freeSlots = Channel.CreateUnbounded<BatchSlot>();
        _slots = new BatchSlot[batchesInFlight];
        try
        {
            for (var i = 0; i < batchesInFlight; i++)
            {
                _slots[i] = new BatchSlot(session.CreateBatchRunner(batchSize));
                _freeSlots.Writer.TryWrite(_slots[i]);
            }
        }
        catch
        {
            foreach (var slot in _slots) slot?.Runner.Dispose();
            throw;
        }
        _collector = Task.Run(CollectAsync);
    }

    public int BatchSize { get; }

    public TimeSpan MaxWait { get; }

    public int Dimension => _session.Dimension;

    /// <summary>Batches run so far, those of them that were full, and the crops embedded.</summary>
    public (long Batches, long FullBatches, long Images) Counts =>
        (Interlocked.Read(ref _batches), Interlocked.Read(ref _fullBatches), Interlocked.Read(ref _images));

    /// <summary>Since creation: wall time, time with at least one batch running, and decode threads' summed wait for queue space.</summary>
    public (TimeSpan Wall, TimeSpan ModelBusy, TimeSpan ProducersWaited) Utilisation
    {
        get
        {
            var now = Stopwatch.GetTimestamp();
            long busy;
            lock (_busyGate) busy = _busyTicks + (_running > 0 ? now - _busySince : 0);
            return (Stopwatch.GetElapsedTime(_createdAt, now), TimeSpan.FromSeconds(busy / (double)Stopwatch.Frequency),
                TimeSpan.FromSeconds(Interlocked.Read(ref _producerWaitTicks) / (double)Stopwatch.Frequency));
        }
    }

    /// <summary>
    /// Queues one uint8 RGB HWC crop of the model's input size and returns its embedding. The crop's memory must
    /// stay unchanged until the returned task completes. A failed batch faults the tasks of its crops only.
    /// </summary>
    public async ValueTask<float[]> EmbedAsync(ReadOnlyMemory<byte> crop, CancellationToken cancellationToken = default)
    {
        if (crop.Length != _session.CropBytes)
            throw new ArgumentException(
                $"a crop must be {_session.InputSize}x{_session.InputSize} uint8 RGB HWC ({_session.CropBytes} bytes), got {crop.Length} bytes",
                nameof(crop));
        var result = new TaskCompletionSource<float[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            var pending = new PendingCrop(crop, result);
            if (!_queue.Writer.TryWrite(pending))
            {
                var waitStart = Stopwatch.GetTimestamp();
                await _queue.Writer.WriteAsync(pending, cancellationToken).ConfigureAwait(false);
                Interlocked.Add(ref _producerWaitTicks, Stopwatch.GetTimestamp() - waitStart);
            }
        }
        catch (ChannelClosedException)
        {
            throw new ObjectDisposedException(nameof(EmbeddingBatcher), "the embedding batcher has been shut down");
        }
        return await result.Task.ConfigureAwait(false);
    }

    /// <summary>Stops taking crops, embeds the ones queued, and waits for every batch in flight.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _queue.Writer.TryComplete();
        await _collector.ConfigureAwait(false);
        for (var i = 0; i < _slots.Length; i++) await _freeSlots.Reader.ReadAsync().ConfigureAwait(false);
        foreach (var slot in _slots) slot.Runner.Dispose();
    }

    private async Task CollectAsync()
    {
        var reader = _queue.Reader;
        while (await NextCrop().ConfigureAwait(false))
        {
            var slot = await _freeSlots.Reader.ReadAsync().ConfigureAwait(false);
            var deadline = 0L;
            while (true)
            {
                while (slot.Count < BatchSize && reader.TryRead(out var pending))
                {
                    pending.Crop.Span.CopyTo(slot.Runner.Crop(slot.Count));
                    slot.Items[slot.Count++] = pending;
                    if (slot.Count == 1) deadline = Stopwatch.GetTimestamp() + (long)(MaxWait.TotalSeconds * Stopwatch.Frequency);
                }
                if (slot.Count == BatchSize) break;
                var remaining = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
                if (slot.Count > 0 && remaining <= TimeSpan.Zero) break;
                var next = NextCrop();
                if (slot.Count > 0 && !next.IsCompleted)
                    await Task.WhenAny(next, Task.Delay(remaining)).ConfigureAwait(false);
                else
                    await next.ConfigureAwait(false);
                if (next.IsCompleted && !next.Result) break;
            }
            if (slot.Count == 0)
            {
                _freeSlots.Writer.TryWrite(slot);
                continue;
            }
            _ = Task.Run(() => RunBatch(slot));
        }
    }

    /// <summary>One outstanding wait for the queue, kept across timeouts (a channel reader wait is not cancelled cheaply).</summary>
    private Task<bool> NextCrop()
    {
        if (_pendingWait is null || _pendingWait.IsCompleted) _pendingWait = _queue.Reader.WaitToReadAsync().AsTask();
        return _pendingWait;
    }

    private void RunBatch(BatchSlot slot)
    {
        var count = slot.Count;
        lock (_busyGate)
            if (_running++ == 0) _busySince = Stopwatch.GetTimestamp();
        try
        {
            try
            {
                slot.Runner.Run(count);
            }
            finally
            {
                lock (_busyGate)
                    if (--_running == 0) _busyTicks += Stopwatch.GetTimestamp() - _busySince;
            }
            var embeddings = slot.Runner.Embeddings;
            var dimension = _session.Dimension;
            for (var i = 0; i < count; i++)
                slot.Items[i].Result.TrySetResult(embeddings.Slice(i * dimension, dimension).ToArray());
            Interlocked.Increment(ref _batches);
            if (count == BatchSize) Interlocked.Increment(ref _fullBatches);
            Interlocked.Add(ref _images, count);
        }
        catch (Exception e)
        {
            var failure = new InvalidOperationException($"embedding a batch of {count} crops failed: {e.Message}", e);
            for (var i = 0; i < count; i++) slot.Items[i].Result.TrySetException(failure);
        }
        finally
        {
            Array.Clear(slot.Items, 0, count);
            slot.Count = 0;
            _freeSlots.Writer.TryWrite(slot);
        }
    }

    private readonly record struct PendingCrop(ReadOnlyMemory<byte> Crop, TaskCompletionSource<float[]> Result);

    private sealed class BatchSlot(EmbeddingBatchRunner runner)
    {
        public EmbeddingBatchRunner Runner { get; } = runner;

        public PendingCrop[] Items { get; } = new PendingCrop[runner.Capacity];

        public int Count { get; set; }
    }
}
