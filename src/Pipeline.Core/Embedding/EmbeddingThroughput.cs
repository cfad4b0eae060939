using System.Diagnostics;

namespace Pipeline.Embedding;

/// <summary>Settings of <c>pipeline bench embed</c>.</summary>
public sealed record EmbeddingThroughputOptions
{
    public EmbeddingOptions Embedding { get; init; } = new();

    /// <summary>Fixed batch size, or null to pick the fastest of <see cref="BatchCandidates"/> by a short trial each.</summary>
    public int? BatchSize { get; init; }

    public int[] BatchCandidates { get; init; } = [64, 128, 256, 512];

    /// <summary>Seconds of the measured run at the chosen batch size.</summary>
    public double Seconds { get; init; } = 20;

    /// <summary>Seconds of each auto-tune trial (after its warm-up batches).</summary>
    public double TrialSeconds { get; init; } = 2;

    /// <summary>Untimed batches before each measurement (cuDNN's algorithm search, arena growth).</summary>
    public int WarmupBatches { get; init; } = 3;

    /// <summary>
    /// Batches in flight at once: worker threads, each with its own buffers and I/O binding. 0 picks one per CUDA
    /// session on CUDA, and 1 on the CPU (where one batch already uses every core).
    /// </summary>
    public int BatchesInFlight { get; init; }
}

/// <summary>One measured configuration.</summary>
public sealed record EmbeddingThroughputTrial(
    int BatchSize, long Images, double Seconds, double ImagesPerSecond, double MeanBatchMs, double P50BatchMs, double P95BatchMs);

/// <summary>What <see cref="EmbeddingThroughput.Run"/> measured.</summary>
public sealed record EmbeddingThroughputResult(
    EmbeddingDevice Device,
    EmbeddingPrecision Precision,
    EmbeddingInput Input,
    int BatchesInFlight,
    int Sessions,
    bool PinnedMemory,
    string? RunnerSetupNote,
    string? FallbackReason,
    EmbeddingThroughputTrial Measured,
    IReadOnlyList<EmbeddingThroughputTrial> AutoTune)
{
    public double ImagesPerSecond => Measured.ImagesPerSecond;

    public int BatchSize => Measured.BatchSize;
}

/// <summary>
/// Embedding throughput on synthetic uint8 crops held in host memory, as decode threads would hand them over:
/// every batch is copied into the runner's (pinned) buffer, run, and its embeddings read back.
/// </summary>
public static class EmbeddingThroughput
{
    public static EmbeddingThroughputResult Run(EmbeddingThroughputOptions options)
    {
        using var session = EmbeddingSession.Open(options.Embedding);
        return Run(session, options);
    }

    public static EmbeddingThroughputResult Run(EmbeddingSession session, EmbeddingThroughputOptions options)
    {
        ArgumentNullException.ThrowIfNull(session);
        var inFlight = options.BatchesInFlight > 0 ? options.BatchesInFlight
            : session.Device == EmbeddingDevice.Cuda ? session.SessionCount : 1;
        var candidates = options.BatchSize is { } fixedBatch ? [fixedBatch] : options.BatchCandidates;
        if (candidates.Length == 0) throw new ArgumentException("no batch size to measure");
        var largest = 0;
        foreach (var b in candidates)
        {
            if (b < 1) throw new ArgumentOutOfRangeException(nameof(options), b, "batch sizes must be positive");
            largest = Math.Max(largest, b);
        }
        // Two of the largest batches of distinct crops, so consecutive batches differ as real ones do.
        var source = SyntheticCrops(largest * 2, session.CropBytes);
        var trials = new List<EmbeddingThroughputTrial>();
        EmbeddingThroughputTrial? best = null;
        var pinned = false;
        string? pinnedFailure = null;
        if (candidates.Length > 1)
        {
            foreach (var batch in candidates)
            {
                var trial = Measure(session, source, batch, inFlight, options.TrialSeconds, options.WarmupBatches, out pinned, out pinnedFailure);
                trials.Add(trial);
                if (best is null || trial.ImagesPerSecond > best.ImagesPerSecond) best = trial;
            }
        }
        // With no measured run asked for, the best trial is the answer (batch-size selection only).
        var measured = best is not null && options.Seconds <= 0
            ? best
            : Measure(session, source, best?.BatchSize ?? candidates[0], inFlight, Math.Max(options.Seconds, 0.1), options.WarmupBatches, out pinned, out pinnedFailure);
        return new EmbeddingThroughputResult(
            session.Device, session.Precision, session.Input, inFlight, session.SessionCount, pinned, pinnedFailure, session.FallbackReason, measured, trials);
    }

    /// <summary>
    /// The fastest of <paramref name="candidates"/> on this session, by a short trial each (for the batcher's size).
    /// </summary>
    public static int ChooseBatchSize(EmbeddingSession session, int[] candidates, double trialSeconds = 1.5, int batchesInFlight = 0)
    {
        var result = Run(session, new EmbeddingThroughputOptions
        {
            BatchCandidates = candidates,
            TrialSeconds = trialSeconds,
            Seconds = 0,
            WarmupBatches = 1,
            BatchesInFlight = batchesInFlight,
        });
        return result.BatchSize;
    }

    private static EmbeddingThroughputTrial Measure(
        EmbeddingSession session, byte[] source, int batch, int inFlight, double seconds, int warmupBatches, out bool pinned, out string? pinnedFailure)
    {
        var runners = new EmbeddingBatchRunner[inFlight];
        try
        {
            for (var i = 0; i < inFlight; i++) runners[i] = session.CreateBatchRunner(batch);
            var crops = source.Length / session.CropBytes;
            foreach (var runner in runners)
            {
                for (var w = 0; w < Math.Max(1, warmupBatches); w++) FillAndRun(runner, source, w * batch % crops, batch, session.CropBytes);
            }
            // After a first run, so that a fallback from pinned memory shows.
            pinned = runners[0].UsesPinnedMemory;
            pinnedFailure = runners[0].SetupNote;
            var latencies = new List<double>[inFlight];
            var images = new long[inFlight];
            var threads = new Thread[inFlight];
            var start = new Barrier(inFlight + 1);
            var stopAt = 0L;
            for (var t = 0; t < inFlight; t++)
            {
                var worker = t;
                latencies[worker] = [];
                threads[worker] = new Thread(() =>
                {
                    var runner = runners[worker];
                    var next = worker * batch % crops;
                    start.SignalAndWait();
                    while (Stopwatch.GetTimestamp() < Volatile.Read(ref stopAt))
                    {
                        var began = Stopwatch.GetTimestamp();
                        FillAndRun(runner, source, next, batch, session.CropBytes);
                        latencies[worker].Add(Stopwatch.GetElapsedTime(began).TotalMilliseconds);
                        images[worker] += batch;
                        next = (next + batch * inFlight) % crops;
                    }
                }) { IsBackground = true, Name = $"embed-bench-{worker}" };
                threads[worker].Start();
            }
            var began = Stopwatch.GetTimestamp();
            Volatile.Write(ref stopAt, began + (long)(seconds * Stopwatch.Frequency));
            start.SignalAndWait();
            foreach (var thread in threads) thread.Join();
            var elapsed = Stopwatch.GetElapsedTime(began).TotalSeconds;
            var all = new List<double>();
            long total = 0;
            for (var t = 0; t < inFlight; t++)
            {
                all.AddRange(latencies[t]);
                total += images[t];
            }
            all.Sort();
            var mean = 0.0;
            foreach (var l in all) mean += l;
            mean = all.Count > 0 ? mean / all.Count : 0;
            return new EmbeddingThroughputTrial(batch, total, elapsed, total / elapsed, mean, Percentile(all, 0.50), Percentile(all, 0.95));
        }
        finally
        {
            foreach (var r in runners) r?.Dispose();
        }
    }

    private static void FillAndRun(EmbeddingBatchRunner runner, byte[] source, int firstCrop, int batch, int cropBytes)
    {
        var crops = source.Length / cropBytes;
        var pixels = runner.Pixels;
        for (var i = 0; i < batch; i++)
        {
            var crop = (firstCrop + i) % crops;
            source.AsSpan(crop * cropBytes, cropBytes).CopyTo(pixels.Slice(i * cropBytes, cropBytes));
        }
        runner.Run(batch);
        // Read the embeddings back as a consumer would (they are already in host memory).
        _ = runner.Embeddings[^1];
    }

    private static double Percentile(List<double> sorted, double q) =>
        sorted.Count == 0 ? 0 : sorted[Math.Min(sorted.Count - 1, (int)Math.Floor(q * (sorted.Count - 1) + 0.5))];

    /// <summary>Smooth gradients plus noise: image-like statistics, reproducible (fixed seed).</summary>
    internal static byte[] SyntheticCrops(int count, int cropBytes)
    {
        var pixels = new byte[(long)count * cropBytes];
        var random = new Random(20171);
        var side = (int)Math.Sqrt(cropBytes / 3);
        for (var i = 0; i < count; i++)
        {
            var crop = pixels.AsSpan(i * cropBytes, cropBytes);
            int r0 = random.Next(256), g0 = random.Next(256), b0 = random.Next(256);
            for (var y = 0; y < side; y++)
            {
                for (var x = 0; x < side; x++)
                {
                    var p = (y * side + x) * 3;
                    var noise = random.Next(-16, 17);
                    crop[p] = (byte)Math.Clamp(r0 + x / 2 + noise, 0, 255);
                    crop[p + 1] = (byte)Math.Clamp(g0 + y / 2 + noise, 0, 255);
                    crop[p + 2] = (byte)Math.Clamp(b0 + (x + y) / 4 - noise, 0, 255);
                }
            }
        }
        return pixels;
    }
}
