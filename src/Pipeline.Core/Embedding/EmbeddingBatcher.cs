using System.Diagnostics;

namespace Pipeline.Embedding;

/// <summary>Receives the embedding of a crop handed to <see cref="EmbeddingBatcher.Submit"/>, on the batcher's own thread.</summary>
public interface IEmbeddingConsumer
{
    /// <summary>The crop's embedding; the span is valid only during the call (copy it).</summary>
    void Embedded(object? state, ReadOnlySpan<float> embedding);

    void Failed(object? state, Exception error);
}

/// <summary>
/// Gathers crops from many decode threads into batches for one <see cref="EmbeddingSession"/>. Each of
/// <c>batchesInFlight</c> dedicated threads fills a batch (one at a time, so batches fill whole) and runs it; on CUDA
/// one batch's copies overlap another's compute. Nothing runs on the .NET thread pool.
/// <para>
/// When a batch runs: a producer that knows how many crops are coming announces them with <see cref="Expect"/>
/// (and withdraws those that will never come, <see cref="Withdraw"/>). While announced crops are outstanding, a batch
/// waits until it is full: decoding can still fill it. A partial batch runs only when nothing announced is
/// outstanding (the held work is draining). Crops that nobody announced (<see cref="EmbedAsync"/> callers) keep the
/// older rule: a partial batch runs once its first crop has waited <see cref="MaxWait"/>.
/// </para>
/// The queue is bounded, so producers wait when the model falls behind, and memory stays bounded.
/// </summary>
public sealed class EmbeddingBatcher : IAsyncDisposable
{
    /// <summary>A batch that waits this long for announced crops without any arriving runs anyway (a lost announcement must not stall the node).</summary>
    public static readonly TimeSpan StallGuard = TimeSpan.FromSeconds(2);

    private readonly EmbeddingSession _session;
    private readonly Queue<PendingCrop> _queue = new();
    private readonly int _capacity;
    private readonly object _gate = new(); // Monitor: producers and the filling thread wait on it
    private readonly Lock _fillGate = new();
    private readonly Thread[] _threads;
    private readonly BatchSlot[] _slots;
    private long _expected; // announced crops not yet queued nor withdrawn
    private bool _announced; // some producer announces its crops: partial batches run only when they are all in
    private bool _closed;
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
        _capacity = batchSize * batchesInFlight;
        _slots = new BatchSlot[batchesInFlight];
        try
        {
            for (var i = 0; i < batchesInFlight; i++) _slots[i] = new BatchSlot(session.CreateBatchRunner(batchSize));
        }
        catch
        {
            foreach (var slot in _slots) slot?.Runner.Dispose();
            throw;
        }
        _threads = new Thread[batchesInFlight];
        for (var i = 0; i < batchesInFlight; i++)
        {
            var slot = _slots[i];
            _threads[i] = new Thread(() => RunLoop(slot)) { IsBackground = true, Name = $"pipeline-embed-{i}" };
            _threads[i].Start();
        }
    }

    public int BatchSize { get; }

    public TimeSpan MaxWait { get; }

    public int Dimension => _session.Dimension;

    /// <summary>Batch runs in flight at once (one dedicated thread each).</summary>
    public int BatchesInFlight => _slots.Length;

    /// <summary>Crops queued and not yet taken into a batch.</summary>
    public int QueueDepth
    {
        get { lock (_gate) return _queue.Count; }
    }

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

    /// <summary>Announces <paramref name="crops"/> crops that will be submitted with <c>expected: true</c> (or withdrawn).</summary>
    public void Expect(int crops)
    {
        lock (_gate)
        {
            _expected += crops;
            _announced = true;
        }
    }

    /// <summary>Withdraws announced crops that will never come (quarantined or cancelled images): a waiting batch may run.</summary>
    public void Withdraw(int crops)
    {
        if (crops == 0) return;
        lock (_gate)
        {
            _expected -= crops;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>
    /// Queues one uint8 RGB HWC crop of the model's input size, blocking while the queue is full; the consumer gets its
    /// embedding (or the batch's failure) on a batcher thread. The crop's memory must stay unchanged until then.
    /// </summary>
    public void Submit(ReadOnlyMemory<byte> crop, IEmbeddingConsumer consumer, object? state, bool expected)
    {
        CheckCrop(crop);
        lock (_gate)
        {
            if (_queue.Count >= _capacity && !_closed)
            {
                var waitStart = Stopwatch.GetTimestamp();
                while (_queue.Count >= _capacity && !_closed) Monitor.Wait(_gate);
                Interlocked.Add(ref _producerWaitTicks, Stopwatch.GetTimestamp() - waitStart);
            }
            if (_closed) throw new ObjectDisposedException(nameof(EmbeddingBatcher), "the embedding batcher has been shut down");
            _queue.Enqueue(new PendingCrop(crop, consumer, state, Stopwatch.GetTimestamp()));
            if (expected) _expected--;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>
    /// Queues one uint8 RGB HWC crop of the model's input size and returns its embedding. The crop's memory must
    /// stay unchanged until the returned task completes. A failed batch faults the tasks of its crops only.
    /// </summary>
    public async ValueTask<float[]> EmbedAsync(ReadOnlyMemory<byte> crop, CancellationToken cancellationToken = default)
    {
        CheckCrop(crop);
        cancellationToken.ThrowIfCancellationRequested();
        var result = new TaskCompletionSource<float[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!TrySubmitNow(crop, result))
            await Task.Factory.StartNew(() => Submit(crop, TaskConsumer.Instance, result, expected: false), cancellationToken,
                TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
        return await result.Task.ConfigureAwait(false);
    }

    private bool TrySubmitNow(ReadOnlyMemory<byte> crop, TaskCompletionSource<float[]> result)
    {
        lock (_gate)
        {
            if (_closed) throw new ObjectDisposedException(nameof(EmbeddingBatcher), "the embedding batcher has been shut down");
            if (_queue.Count >= _capacity) return false;
            _queue.Enqueue(new PendingCrop(crop, TaskConsumer.Instance, result, Stopwatch.GetTimestamp()));
            Monitor.PulseAll(_gate);
            return true;
        }
    }

    private void CheckCrop(ReadOnlyMemory<byte> crop)
    {
        if (crop.Length != _session.CropBytes)
            throw new ArgumentException(
                $"a crop must be {_session.InputSize}x{_session.InputSize} uint8 RGB HWC ({_session.CropBytes} bytes), got {crop.Length} bytes",
                nameof(crop));
    }

    /// <summary>Stops taking crops, embeds the ones queued, and waits for every batch in flight.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        lock (_gate)
        {
            _closed = true;
            Monitor.PulseAll(_gate);
        }
        await Task.Factory.StartNew(() =>
        {
            foreach (var thread in _threads) thread.Join();
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
        foreach (var slot in _slots) slot.Runner.Dispose();
    }

    private void RunLoop(BatchSlot slot)
    {
        while (true)
        {
            int count;
            lock (_fillGate) count = Fill(slot);
            if (count == 0) return; // closed and empty
            RunBatch(slot);
        }
    }

    /// <summary>Fills the slot until it is full, or until the rules above say a partial batch runs; 0 only when closed and empty.</summary>
    private int Fill(BatchSlot slot)
    {
        var taken = new PendingCrop[BatchSize];
        long firstQueued = 0;
        while (slot.Count < BatchSize)
        {
            int n;
            lock (_gate)
            {
                while (_queue.Count == 0)
                {
                    if (_closed) return slot.Count;
                    if (slot.Count == 0)
                    {
                        Monitor.Wait(_gate);
                        continue;
                    }
                    if (_expected > 0)
                    {
                        // decoding can still fill this batch
                        if (!Monitor.Wait(_gate, StallGuard) && _queue.Count == 0) return slot.Count;
                        continue;
                    }
                    if (_announced) return slot.Count; // the announced work is draining: run what there is
                    var wait = MaxWait - Stopwatch.GetElapsedTime(firstQueued);
                    if (wait <= TimeSpan.Zero) return slot.Count;
                    Monitor.Wait(_gate, wait);
                }
                n = Math.Min(_queue.Count, BatchSize - slot.Count);
                for (var i = 0; i < n; i++) taken[i] = _queue.Dequeue();
                Monitor.PulseAll(_gate); // room for producers
            }
            for (var i = 0; i < n; i++)
            {
                if (slot.Count == 0) firstQueued = taken[i].Queued;
                taken[i].Crop.Span.CopyTo(slot.Runner.Crop(slot.Count));
                slot.Items[slot.Count++] = taken[i];
            }
        }
        return slot.Count;
    }


    private void RunBatch(BatchSlot slot)
    {
        var count = slot.Count;
        lock (_busyGate)
            if (_running++ == 0) _busySince = Stopwatch.GetTimestamp();
        Exception? failure = null;
        try
        {
            slot.Runner.Run(count);
        }
        catch (Exception e)
        {
            failure = new InvalidOperationException($"embedding a batch of {count} crops failed: {e.Message}", e);
        }
        finally
        {
            lock (_busyGate)
                if (--_running == 0) _busyTicks += Stopwatch.GetTimestamp() - _busySince;
        }
        try
        {
            if (failure is null)
            {
                Interlocked.Increment(ref _batches);
                if (count == BatchSize) Interlocked.Increment(ref _fullBatches);
                Interlocked.Add(ref _images, count);
                var embeddings = slot.Runner.Embeddings;
                var dimension = _session.Dimension;
                for (var i = 0; i < count; i++)
                    Deliver(slot.Items[i], embeddings.Slice(i * dimension, dimension), null);
            }
            else
            {
                for (var i = 0; i < count; i++) Deliver(slot.Items[i], default, failure);
            }
        }
        finally
        {
            Array.Clear(slot.Items, 0, count);
            slot.Count = 0;
        }
    }

    private static void Deliver(PendingCrop item, ReadOnlySpan<float> embedding, Exception? failure)
    {
        try
        {
            if (failure is null) item.Consumer.Embedded(item.State, embedding);
            else item.Consumer.Failed(item.State, failure);
        }
        catch (Exception e)
        {
            // a consumer's own failure must not take the batcher's thread down with it
            Trace.TraceError($"embedding consumer failed: {e}");
        }
    }

    private sealed class TaskConsumer : IEmbeddingConsumer
    {
        public static readonly TaskConsumer Instance = new();

        public void Embedded(object? state, ReadOnlySpan<float> embedding) => ((TaskCompletionSource<float[]>)state!).TrySetResult(embedding.ToArray());

        public void Failed(object? state, Exception error) => ((TaskCompletionSource<float[]>)state!).TrySetException(error);
    }

    private readonly record struct PendingCrop(ReadOnlyMemory<byte> Crop, IEmbeddingConsumer Consumer, object? State, long Queued);

    private sealed class BatchSlot(EmbeddingBatchRunner runner)
    {
        public EmbeddingBatchRunner Runner { get; } = runner;

        public PendingCrop[] Items { get; } = new PendingCrop[runner.Capacity];

        public int Count { get; set; }
    }
}
