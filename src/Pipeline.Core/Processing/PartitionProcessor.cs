using System.Buffers;
using System.Diagnostics;
using Pipeline.Boxes;
using Pipeline.Corpus;
using Pipeline.Embedding;
using Pipeline.Imaging;
using Pipeline.Jobs;
using Pipeline.Storage;

namespace Pipeline.Processing;

/// <summary>
/// Runs one partition attempt: reads each image, decodes and resizes it, projects its boxes, embeds the crop, and
/// writes one part (image rows and quarantine rows) with the partition's histogram and class tallies.
/// Decoding uses <c>threads</c> cores; many more images may wait on the embedding batcher at once, so batches fill.
/// Pixels and file bytes live in pooled buffers returned as soon as an image is done; rows of one partition (a
/// thousand or so, without pixels unless a stored copy is asked for) are the only per-partition memory.
/// </summary>
public sealed class PartitionProcessor(int threads, IImageDecoder decoder, ImageStageOptions imageOptions, EmbeddingBatcher? batcher)
{
    private readonly SemaphoreSlim _decodeSlots = new(Math.Max(1, threads));

    public async Task<PartitionOutcome> ProcessAsync(PartitionWork work, IProgress<int>? progress, CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        var paths = new JobPaths(work.Spec.Output);
        var images = PartitionPlanner.LoadPartition(paths.PlanDir, work.Partition.Id);
        var results = new object[images.Length]; // ImageRow or ErrorRow, in plan order
        var mismatches = 0;
        var done = 0;
        var inFlight = Math.Max(1, threads) + (batcher is null ? 0 : batcher.BatchSize * 2);
        await Parallel.ForEachAsync(Enumerable.Range(0, images.Length),
            new ParallelOptions { MaxDegreeOfParallelism = inFlight, CancellationToken = cancellation },
            async (i, token) =>
            {
                var (result, mismatch) = await ProcessImageAsync(work, images[i], token).ConfigureAwait(false);
                results[i] = result;
                if (mismatch) Interlocked.Increment(ref mismatches);
                progress?.Report(Interlocked.Increment(ref done));
            }).ConfigureAwait(false);

        var histogram = new BoxSizeHistogram();
        var tallies = new Dictionary<int, (string Species, int Images, int Boxes)>();
        var quarantine = new Dictionary<string, int>(StringComparer.Ordinal);
        await using var writer = await PartAttemptWriter.CreateAsync(work.Spec.Output, work.Partition.Id, work.Attempt,
            cancellationToken: cancellation).ConfigureAwait(false);
        for (var i = 0; i < results.Length; i++)
        {
            if (results[i] is ImageRow row)
            {
                foreach (var box in row.Boxes) histogram.Add(box.RelativeSize);
                var t = tallies.GetValueOrDefault(row.CategoryId, (Species: row.Species, Images: 0, Boxes: 0));
                tallies[row.CategoryId] = (row.Species, t.Images + 1, t.Boxes + row.Boxes.Length);
                await writer.AddAsync(row, cancellation).ConfigureAwait(false);
            }
            else
            {
                var error = (ErrorRow)results[i];
                quarantine[error.Error] = quarantine.GetValueOrDefault(error.Error) + 1;
                await writer.AddErrorAsync(error, cancellation).ConfigureAwait(false);
            }
        }
        var part = await writer.CommitAsync(cancellation).ConfigureAwait(false);
        var classes = tallies.OrderBy(t => t.Key).Select(t => new ClassTally(t.Key, t.Value.Species, t.Value.Images, t.Value.Boxes)).ToArray();
        return new PartitionOutcome(part, work.Worker,
            new BoxHistogramData(histogram.Counts.ToArray(), histogram.Count, histogram.SumNanos, histogram.Min, histogram.Max),
            classes, quarantine, mismatches, clock.Elapsed.TotalSeconds);
    }

    private async Task<(object Result, bool Mismatch)> ProcessImageAsync(PartitionWork work, PlannedImage image, CancellationToken token)
    {
        var partition = work.Partition;
        ErrorRow Quarantine(string stage, string error, string message) =>
            new(image.Id, image.FileName, stage, error, message, work.Worker, work.Attempt);

        byte[]? file = null;
        var crop = ArrayPool<byte>.Shared.Rent(imageOptions.CropBytes);
        try
        {
            PreparedImage prepared;
            await _decodeSlots.WaitAsync(token).ConfigureAwait(false);
            try
            {
                int length;
                try
                {
                    var path = CorpusFiles.Resolve(work.Spec.Corpus, image.FileName);
                    length = CorpusFiles.Read(path, ArrayPool<byte>.Shared, out file);
                }
                catch (CorpusFileException e)
                {
                    return (Quarantine("read", e.Kind, e.Message), false);
                }
                try
                {
                    prepared = decoder.Prepare(file.AsSpan(0, length), image.Width, image.Height, imageOptions,
                        crop.AsSpan(0, imageOptions.CropBytes));
                }
                catch (ImageRejectedException e)
                {
                    return (Quarantine("decode", e.ErrorName, e.Message), false);
                }
                catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
                {
                    // a decoder bug on a hostile file must cost one image, never the partition
                    return (Quarantine("decode", "Corrupt", $"{e.GetType().Name}: {e.Message}"), false);
                }
            }
            finally
            {
                _decodeSlots.Release();
                if (file is not null) ArrayPool<byte>.Shared.Return(file);
                file = null;
            }

            var boxes = new BoxAnnotation[image.Boxes.Length];
            for (var b = 0; b < boxes.Length; b++)
            {
                var box = image.Boxes[b];
                boxes[b] = new BoxAnnotation(b, box[0], box[1], box[2], box[3]);
            }
            var projected = BoxStage.Project(boxes, prepared.Width, prepared.Height, prepared.ResizedWidth, prepared.ResizedHeight, null);

            float[]? embedding = null;
            if (batcher is not null)
                embedding = await batcher.EmbedAsync(crop.AsMemory(0, imageOptions.CropBytes), token).ConfigureAwait(false);

            var row = new ImageRow(image.Id, image.FileName, image.CategoryId, image.Species, partition.Split, partition.Supercategory,
                prepared.Width, prepared.Height, prepared.ResizedWidth, prepared.ResizedHeight, prepared.StoredJpeg,
                projected.Rows, embedding);
            return (row, prepared.SizeMismatch);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(crop);
        }
    }
}
