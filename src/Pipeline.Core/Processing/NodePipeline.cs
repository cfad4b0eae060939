using System.Buffers;
using System.Diagnostics;
using System.Threading.Channels;
using Pipeline.Boxes;
using Pipeline.Corpus;
using Pipeline.Embedding;
using Pipeline.Imaging;
using Pipeline.Jobs;
using Pipeline.Schema;
using Pipeline.Storage;

namespace Pipeline.Processing;

/// <summary>
/// One pipeline per node, shared by every partition the node holds:
/// read (a few I/O threads, reading ahead) → decode, resize and box projection (one dedicated thread per core) →
/// the embedding batcher (its own threads) → the part writer (one thread), with bounded queues between the stages.
/// Partitions are read in the order they arrive, so decoding runs on into the next partition while the last images of
/// the previous one are still being embedded or written, and a batch fills from any partition.
/// Each partition's rows reach its part file as they are done (row groups stream out; a partition is never held whole);
/// the part is committed through <see cref="PartAttemptWriter"/> (temporary name, fsync, atomic rename) when its last
/// image is written. Nothing here runs on the .NET thread pool, which stays free for Akka and the API.
/// </summary>
public sealed class NodePipeline : IAsyncDisposable
{
    private readonly Channel<ReadImage> _decodeQueue;
    private readonly Channel<Finished> _writeQueue;
    // AllowSynchronousContinuations: a stage thread blocked on a queue is woken by the thread that fills or empties it,
    // directly, not through a thread-pool hop (up to two per image otherwise, on cores that are busy decoding)
    private readonly Channel<PartitionRun> _commitQueue = Channel.CreateUnbounded<PartitionRun>(
        new UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = true });
    private readonly List<Thread> _threads = [];
    private readonly object _runGate = new(); // Monitor: readers wait here for partitions
    private readonly LinkedList<PartitionRun> _toRead = new();
    private readonly HashSet<PartitionRun> _active = [];
    private readonly object _decoderGate = new();
    private readonly StageMeter _read, _decode, _write;
    private readonly EmbeddingSink _sink;
    private int _activeDecoders;
    private bool _closed;
    private long _activeSince;
    private long _activeTicks;
    private EmbeddingBatcher? _lastBatcher;
    private readonly ParquetLayoutOptions _partLayout;

    /// <param name="decodeThreads">Decode threads: one per core the node gives to decoding.</param>
    /// <param name="readThreads">I/O threads; 0 picks 2, or 4 from 16 decode threads up.</param>
    /// <param name="partLayout">Row groups of the parts; <see cref="PartLayout"/> by default.</param>
    public NodePipeline(int decodeThreads, int readThreads = 0, ParquetLayoutOptions? partLayout = null)
    {
        _partLayout = partLayout ?? PartLayout;
        DecodeThreads = Math.Max(1, decodeThreads);
        ReadThreads = readThreads > 0 ? readThreads : DecodeThreads >= 16 ? 4 : 2;
        _activeDecoders = DecodeThreads;
        // read-ahead: enough files for every decoder to find the next one waiting (a file is ~100 KB)
        _decodeQueue = Channel.CreateBounded<ReadImage>(new BoundedChannelOptions(DecodeThreads * 8)
        {
            FullMode = BoundedChannelFullMode.Wait, AllowSynchronousContinuations = true,
        });
        _writeQueue = Channel.CreateBounded<Finished>(new BoundedChannelOptions(1024)
        {
            SingleReader = true, FullMode = BoundedChannelFullMode.Wait, AllowSynchronousContinuations = true,
        });
        _read = new StageMeter(StageFigures.Read, ReadThreads);
        _decode = new StageMeter(StageFigures.Decode, DecodeThreads);
        _write = new StageMeter(StageFigures.Write, 2);
        _sink = new EmbeddingSink(this);
        for (var i = 0; i < ReadThreads; i++) Start($"pipeline-read-{i}", ReadLoop);
        for (var i = 0; i < DecodeThreads; i++)
        {
            var index = i;
            Start($"pipeline-decode-{i}", () => DecodeLoop(index));
        }
        Start("pipeline-write", WriteLoop);
        Start("pipeline-commit", CommitLoop);
    }

    /// <summary>
    /// Parts are row groups of a few hundred rows, written as their images finish: a partition is never held whole in
    /// memory. The merge rewrites them into the dataset's reader-sized row groups.
    /// </summary>
    public static readonly ParquetLayoutOptions PartLayout = ParquetLayoutOptions.Default with
    {
        RowGroupMaxRows = 256,
        RowGroupTargetBytes = 8L << 20,
    };

    /// <summary>
    /// Decode threads when the model runs on the CPU: a quarter of the node's cores (at least one); the model's
    /// intra-op threads get the rest (<see cref="CpuModelIntraOpThreads"/>). A CPU model embeds tens of images a second
    /// per core where a core decodes hundreds, so the model is the stage that needs the cores.
    /// </summary>
    public static int CpuModelDecoders(int cores) => cores <= 1 ? 1 : Math.Max(1, cores / 4);

    /// <summary>
    /// Intra-op threads of a model on the CPU: the node's cores less its decoders, so the two are counted in one budget.
    /// Measured on two cores (bench/RESULTS.md): giving the model both cores instead, on top of the decoder, made
    /// `pipeline run` slower (27 against 31 images/s end to end), one intra-op thread embedding faster than two.
    /// </summary>
    public static int CpuModelIntraOpThreads(int cores) => Math.Max(1, cores - CpuModelDecoders(cores));

    public int DecodeThreads { get; }

    public int ReadThreads { get; }

    /// <summary>
    /// Decode threads allowed to work (1..<see cref="DecodeThreads"/>): a model on the CPU takes the rest of the node's
    /// cores for its own threads, so the node's cores are shared, not oversubscribed.
    /// </summary>
    public int ActiveDecoders
    {
        get => Volatile.Read(ref _activeDecoders);
        set
        {
            lock (_decoderGate)
            {
                _activeDecoders = Math.Clamp(value, 1, DecodeThreads);
                _decode.Threads = _activeDecoders;
                Monitor.PulseAll(_decoderGate);
            }
        }
    }

    /// <summary>
    /// Runs one partition attempt through the pipeline and returns its committed part with statistics. The part file is
    /// opened now (an attempt already committed is refused here); rows stream into it as images finish.
    /// </summary>
    public async Task<PartitionOutcome> ProcessAsync(PartitionWork work, IImageDecoder decoder, ImageStageOptions imageOptions,
        EmbeddingBatcher? batcher, IProgress<int>? progress, CancellationToken cancellation)
    {
        cancellation.ThrowIfCancellationRequested();
        var images = PartitionPlanner.LoadPartition(new JobPaths(work.Spec.Output).PlanDir, work.Partition.Id);
        var writer = await PartAttemptWriter.CreateAsync(work.Spec.Output, work.Partition.Id, work.Attempt, _partLayout,
            cancellation).ConfigureAwait(false);
        var run = new PartitionRun(work, images, decoder, imageOptions, batcher, progress, writer, cancellation);
        bool closed;
        lock (_runGate)
        {
            closed = _closed;
            if (!closed) Enqueue(run);
        }
        if (closed)
        {
            await writer.DisposeAsync().ConfigureAwait(false);
            throw new ObjectDisposedException(nameof(NodePipeline), "the node pipeline has been shut down");
        }
        if (images.Length == 0) Post(new Finished(run, null, null, false));
        run.Registration = cancellation.Register(() =>
        {
            StopReading(run);
            // never block the cancelling thread (an actor's): a full writer queue takes the notice a moment later
            var notice = new Finished(run, null, new OperationCanceledException(cancellation), false);
            if (!_writeQueue.Writer.TryWrite(notice)) _ = _writeQueue.Writer.WriteAsync(notice).AsTask();
        });
        if (run.Completion.Task.IsCompleted) run.Registration.Dispose(); // finished before the registration existed
        return await run.Completion.Task.ConfigureAwait(false);
    }

    /// <summary>Under the run gate: the partition joins the pipeline's reading order.</summary>
    private void Enqueue(PartitionRun run)
    {
        if (_active.Count == 0) _activeSince = Stopwatch.GetTimestamp();
        _active.Add(run);
        if (run.Batcher is { } batcher)
        {
            _lastBatcher = batcher;
            batcher.Expect(run.Images.Length);
        }
        if (run.Images.Length > 0) _toRead.AddLast(run);
        Monitor.PulseAll(_runGate);
    }

    /// <summary>Each stage's busy time, images and queue depth while partitions were in the pipeline, and the bottleneck.</summary>
    public StageFigures Figures()
    {
        double wall;
        lock (_runGate)
            wall = (_activeTicks + (_active.Count > 0 ? Stopwatch.GetTimestamp() - _activeSince : 0)) / (double)Stopwatch.Frequency;
        var stages = new List<StageFigure>(4)
        {
            _read.Snapshot(QueuedForReading(), wall),
            _decode.Snapshot(_decodeQueue.Reader.Count, wall),
        };
        if (_lastBatcher is { } batcher)
        {
            var (_, _, images) = batcher.Counts;
            var (_, busy, _) = batcher.Utilisation;
            stages.Add(new StageFigure(StageFigures.Embed, 1, busy.TotalSeconds, images, batcher.QueueDepth, wall));
        }
        stages.Add(_write.Snapshot(_writeQueue.Reader.Count, wall));
        return new StageFigures([.. stages]);
    }

    private int QueuedForReading()
    {
        lock (_runGate)
        {
            var queued = 0;
            foreach (var run in _toRead) queued += run.Images.Length - run.NextToRead;
            return queued;
        }
    }

    public async ValueTask DisposeAsync()
    {
        lock (_runGate)
        {
            if (_closed) return;
            _closed = true;
            Monitor.PulseAll(_runGate);
        }
        lock (_decoderGate) Monitor.PulseAll(_decoderGate);
        PartitionRun[] pending;
        lock (_runGate) pending = [.. _active];
        foreach (var run in pending)
        {
            StopReading(run);
            Post(new Finished(run, null, new ObjectDisposedException(nameof(NodePipeline), "the node pipeline has been shut down"), false));
        }
        await Task.Factory.StartNew(() =>
        {
            // readers stop first, then decoders drain their queue, then the writer drains and aborts what is left
            foreach (var thread in _threads.Where(t => t.Name!.StartsWith("pipeline-read", StringComparison.Ordinal))) thread.Join();
            _decodeQueue.Writer.TryComplete();
            foreach (var thread in _threads.Where(t => t.Name!.StartsWith("pipeline-decode", StringComparison.Ordinal))) thread.Join();
            _writeQueue.Writer.TryComplete();
            foreach (var thread in _threads.Where(t => t.Name == "pipeline-write")) thread.Join();
            _commitQueue.Writer.TryComplete();
            foreach (var thread in _threads.Where(t => t.Name == "pipeline-commit")) thread.Join();
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
    }

    private void Start(string name, Action loop)
    {
        var thread = new Thread(() => loop()) { IsBackground = true, Name = name };
        _threads.Add(thread);
        thread.Start();
    }

    // ---- read ----

    private void ReadLoop()
    {
        while (NextToRead(out var run, out var index))
        {
            if (run.Stopped)
            {
                run.Batcher?.Withdraw(1);
                continue;
            }
            var start = Stopwatch.GetTimestamp();
            ReadImage item;
            try
            {
                var path = CorpusFiles.Resolve(run.Work.Spec.Corpus, run.Images[index].FileName);
                var length = CorpusFiles.Read(path, ArrayPool<byte>.Shared, out var buffer);
                item = new ReadImage(run, index, buffer, length, null);
            }
            catch (CorpusFileException e)
            {
                item = new ReadImage(run, index, null, 0, e);
            }
            _read.Add(start);
            if (!Put(_decodeQueue.Writer, item))
            {
                if (item.Buffer is not null) ArrayPool<byte>.Shared.Return(item.Buffer);
                return;
            }
        }
    }

    private bool NextToRead(out PartitionRun run, out int index)
    {
        lock (_runGate)
        {
            while (true)
            {
                if (_closed)
                {
                    run = null!;
                    index = 0;
                    return false;
                }
                if (_toRead.First is { } first)
                {
                    run = first.Value;
                    index = run.NextToRead++;
                    if (run.NextToRead >= run.Images.Length) _toRead.RemoveFirst();
                    return true;
                }
                Monitor.Wait(_runGate);
            }
        }
    }

    /// <summary>Stops handing out a partition's images; those never read are withdrawn from its batcher.</summary>
    private void StopReading(PartitionRun run)
    {
        int unread;
        lock (_runGate)
        {
            run.Stopped = true;
            unread = run.Images.Length - run.NextToRead;
            run.NextToRead = run.Images.Length;
            _toRead.Remove(run);
        }
        run.Batcher?.Withdraw(unread);
    }

    // ---- decode, resize, boxes ----

    private void DecodeLoop(int index)
    {
        while (true)
        {
            lock (_decoderGate)
                while (index >= _activeDecoders && !_closed) Monitor.Wait(_decoderGate);
            if (!Take(_decodeQueue.Reader, out var item)) return;
            var run = item.Run;
            var image = run.Images[item.Index];
            if (run.Stopped)
            {
                if (item.Buffer is not null) ArrayPool<byte>.Shared.Return(item.Buffer);
                run.Batcher?.Withdraw(1);
                continue;
            }
            if (item.Error is { } readError)
            {
                run.Batcher?.Withdraw(1);
                Post(new Finished(run, Quarantine(run, image, "read", readError.Kind, readError.Message), null, false));
                continue;
            }
            var start = Stopwatch.GetTimestamp();
            var cropBytes = run.ImageOptions.CropBytes;
            var crop = ArrayPool<byte>.Shared.Rent(cropBytes);
            PreparedImage prepared;
            ErrorRow? rejected = null;
            try
            {
                prepared = run.Decoder.Prepare(item.Buffer.AsSpan(0, item.Length), image.Width, image.Height, run.ImageOptions,
                    crop.AsSpan(0, cropBytes));
            }
            catch (ImageRejectedException e)
            {
                prepared = null!;
                rejected = Quarantine(run, image, "decode", e.ErrorName, e.Message);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // a decoder bug on a hostile file must cost one image, never the partition
                prepared = null!;
                rejected = Quarantine(run, image, "decode", "Corrupt", $"{e.GetType().Name}: {e.Message}");
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(item.Buffer!);
            }
            if (rejected is not null)
            {
                ArrayPool<byte>.Shared.Return(crop);
                _decode.Add(start);
                run.Batcher?.Withdraw(1);
                Post(new Finished(run, rejected, null, false));
                continue;
            }

            var boxes = new BoxAnnotation[image.Boxes.Length];
            for (var b = 0; b < boxes.Length; b++)
            {
                var box = image.Boxes[b];
                boxes[b] = new BoxAnnotation(b, box[0], box[1], box[2], box[3]);
            }
            var boxRows = BoxStage.Project(boxes, prepared.Width, prepared.Height, prepared.ResizedWidth, prepared.ResizedHeight, null);
            _decode.Add(start);
            if (run.Batcher is null)
            {
                ArrayPool<byte>.Shared.Return(crop);
                Post(new Finished(run, Row(run, image, prepared, boxRows, null), null, prepared.SizeMismatch));
                continue;
            }
            try
            {
                run.Batcher.Submit(crop.AsMemory(0, cropBytes), _sink, new Embedding(run, image, prepared, boxRows, crop), expected: true);
            }
            catch (Exception e)
            {
                ArrayPool<byte>.Shared.Return(crop);
                Post(new Finished(run, null, e, false));
            }
        }
    }

    private static ImageRow Row(PartitionRun run, PlannedImage image, PreparedImage prepared, BoxRow[] boxes, float[]? embedding) =>
        new(image.Id, image.FileName, image.CategoryId, image.Species, run.Work.Partition.Split, run.Work.Partition.Supercategory,
            prepared.Width, prepared.Height, prepared.ResizedWidth, prepared.ResizedHeight, prepared.StoredJpeg, boxes, embedding);

    private static ErrorRow Quarantine(PartitionRun run, PlannedImage image, string stage, string error, string message) =>
        new(image.Id, image.FileName, stage, error, message, run.Work.Worker, run.Work.Attempt);

    private sealed record Embedding(PartitionRun Run, PlannedImage Image, PreparedImage Prepared, BoxRow[] Boxes, byte[] Crop);

    /// <summary>Turns an embedded crop into its row, on the batcher's thread.</summary>
    private sealed class EmbeddingSink(NodePipeline pipeline) : IEmbeddingConsumer
    {
        public void Embedded(object? state, ReadOnlySpan<float> embedding)
        {
            var e = (Embedding)state!;
            ArrayPool<byte>.Shared.Return(e.Crop);
            pipeline.Post(new Finished(e.Run, Row(e.Run, e.Image, e.Prepared, e.Boxes, embedding.ToArray()), null, e.Prepared.SizeMismatch));
        }

        public void Failed(object? state, Exception error)
        {
            var e = (Embedding)state!;
            ArrayPool<byte>.Shared.Return(e.Crop);
            pipeline.Post(new Finished(e.Run, null, error, false));
        }
    }

    // ---- write ----

    /// <summary>Hands a finished image (or a partition's failure) to the writer; blocks while the writer is behind.</summary>
    private void Post(Finished item)
    {
        if (Put(_writeQueue.Writer, item)) return;
        // the pipeline is shut down: the partition ends here
        item.Run.Completion.TrySetException(new ObjectDisposedException(nameof(NodePipeline), "the node pipeline has been shut down"));
    }

    private void WriteLoop()
    {
        while (Take(_writeQueue.Reader, out var item))
        {
            var run = item.Run;
            if (run.Done) continue;
            var start = Stopwatch.GetTimestamp();
            try
            {
                if (item.Failure is not null)
                {
                    Abort(run, item.Failure);
                    continue;
                }
                switch (item.Row)
                {
                    case ImageRow row:
                        foreach (var box in row.Boxes) run.Histogram.Add(box.RelativeSize);
                        var t = run.Tallies.GetValueOrDefault(row.CategoryId, (Species: row.Species, Images: 0, Boxes: 0));
                        run.Tallies[row.CategoryId] = (row.Species, t.Images + 1, t.Boxes + row.Boxes.Length);
                        Wait(run.Writer.AddAsync(row));
                        break;
                    case ErrorRow error:
                        run.Quarantine[error.Error] = run.Quarantine.GetValueOrDefault(error.Error) + 1;
                        Wait(run.Writer.AddErrorAsync(error));
                        break;
                }
                if (item.Row is not null)
                {
                    if (item.Mismatch) run.Mismatches++;
                    run.Written++;
                    run.Progress?.Report(run.Written);
                }
                if (run.Written == run.Images.Length)
                {
                    // the footer, fsync and rename happen on the commit thread: rows of other partitions keep flowing
                    run.Done = true;
                    _commitQueue.Writer.TryWrite(run);
                }
            }
            catch (Exception e)
            {
                Abort(run, e);
            }
            finally
            {
                _write.Add(start, item.Row is null ? 0 : 1);
            }
        }
        // shut down: whatever is still open is abandoned (its temporary files deleted); finished ones are the commit thread's
        PartitionRun[] open;
        lock (_runGate) open = [.. _active.Where(r => !r.Done)];
        foreach (var run in open) Abort(run, new ObjectDisposedException(nameof(NodePipeline), "the node pipeline has been shut down"));
    }

    private void CommitLoop()
    {
        while (Take(_commitQueue.Reader, out var run))
        {
            var start = Stopwatch.GetTimestamp();
            try
            {
                Commit(run);
            }
            catch (Exception e)
            {
                Abort(run, e);
            }
            finally
            {
                _write.Add(start, 0);
            }
        }
    }

    private void Commit(PartitionRun run)
    {
        var part = run.Writer.CommitAsync().GetAwaiter().GetResult();
        Wait(run.Writer.DisposeAsync());
        var classes = run.Tallies.OrderBy(t => t.Key).Select(t => new ClassTally(t.Key, t.Value.Species, t.Value.Images, t.Value.Boxes)).ToArray();
        var h = run.Histogram;
        var outcome = new PartitionOutcome(part, run.Work.Worker, new BoxHistogramData(h.Counts.ToArray(), h.Count, h.SumNanos, h.Min, h.Max),
            classes, run.Quarantine, run.Mismatches, run.Clock.Elapsed.TotalSeconds);
        Finish(run);
        run.Completion.TrySetResult(outcome);
    }

    private void Abort(PartitionRun run, Exception failure)
    {
        StopReading(run);
        try
        {
            Wait(run.Writer.DisposeAsync()); // deletes the temporary files: nothing of this attempt becomes visible
        }
        catch (Exception e)
        {
            Trace.TraceError($"abandoning {run.Work.Partition.Id}#{run.Work.Attempt}: {e.Message}");
        }
        Finish(run);
        if (failure is OperationCanceledException cancelled) run.Completion.TrySetCanceled(cancelled.CancellationToken);
        else run.Completion.TrySetException(failure);
    }

    private void Finish(PartitionRun run)
    {
        run.Done = true;
        run.Registration.Dispose();
        lock (_runGate)
        {
            if (_active.Remove(run) && _active.Count == 0) _activeTicks += Stopwatch.GetTimestamp() - _activeSince;
        }
    }

    // ---- blocking channel access for dedicated threads ----

    private static bool Take<T>(ChannelReader<T> reader, out T item)
    {
        while (!reader.TryRead(out item!))
        {
            var wait = reader.WaitToReadAsync();
            if (!(wait.IsCompleted ? wait.Result : wait.AsTask().GetAwaiter().GetResult())) return false;
        }
        return true;
    }

    private static bool Put<T>(ChannelWriter<T> writer, T item)
    {
        while (!writer.TryWrite(item))
        {
            var wait = writer.WaitToWriteAsync();
            if (!(wait.IsCompleted ? wait.Result : wait.AsTask().GetAwaiter().GetResult())) return false;
        }
        return true;
    }

    private static void Wait(ValueTask task)
    {
        if (task.IsCompletedSuccessfully) return;
        task.AsTask().GetAwaiter().GetResult();
    }

    private readonly record struct ReadImage(PartitionRun Run, int Index, byte[]? Buffer, int Length, CorpusFileException? Error);

    /// <summary>A finished image (an <see cref="ImageRow"/> or an <see cref="ErrorRow"/>), or the failure of its partition.</summary>
    private readonly record struct Finished(PartitionRun Run, object? Row, Exception? Failure, bool Mismatch);

    /// <summary>One partition attempt in the pipeline. Counters below the line belong to the writer thread.</summary>
    private sealed class PartitionRun(PartitionWork work, PlannedImage[] images, IImageDecoder decoder, ImageStageOptions imageOptions,
        EmbeddingBatcher? batcher, IProgress<int>? progress, PartAttemptWriter writer, CancellationToken cancellation)
    {
        public PartitionWork Work { get; } = work;
        public PlannedImage[] Images { get; } = images;
        public IImageDecoder Decoder { get; } = decoder;
        public ImageStageOptions ImageOptions { get; } = imageOptions;
        public EmbeddingBatcher? Batcher { get; } = batcher;
        public IProgress<int>? Progress { get; } = progress;
        public PartAttemptWriter Writer { get; } = writer;
        public CancellationToken Cancellation { get; } = cancellation;
        public TaskCompletionSource<PartitionOutcome> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public CancellationTokenRegistration Registration { get; set; }
        public Stopwatch Clock { get; } = Stopwatch.StartNew();
        public int NextToRead; // under the pipeline's run gate
        public volatile bool Stopped;
        // ---- writer thread ----
        public bool Done;
        public int Written;
        public int Mismatches;
        public BoxSizeHistogram Histogram { get; } = new();
        public Dictionary<int, (string Species, int Images, int Boxes)> Tallies { get; } = [];
        public Dictionary<string, int> Quarantine { get; } = new(StringComparer.Ordinal);
    }
}
