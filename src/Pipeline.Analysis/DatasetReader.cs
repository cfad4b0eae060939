using System.Runtime.CompilerServices;
using Pipeline.Imaging;
using Pipeline.Schema;

namespace Pipeline.Analysis;

/// <summary>
/// Streams a merged dataset into batches for a training loop: embeddings, and/or decoded pixels of the stored copies,
/// with labels and boxes. Shuffling works in two levels, as Ray Data and WebDataset do it: the row groups of every
/// selected file are put in a random order, then the rows of <see cref="DatasetReaderOptions.ShuffleWindow"/> row
/// groups at a time are mixed and cut into batches. Only the columns asked for are read, and memory stays at the
/// window (plus the rows of a short tail carried into the next window, and one batch) whatever the dataset's size.
/// <code>
/// var reader = await DatasetReader.OpenAsync("out/dataset", new DatasetReaderOptions { Splits = ["train"], Seed = 7 });
/// for (int epoch = 0; epoch &lt; 10; epoch++)
///     await foreach (TrainingBatch batch in reader.ReadBatchesAsync(epoch))
///         using (batch) Step(batch.Embeddings.Span, batch.Labels);
/// </code>
/// </summary>
public sealed class DatasetReader
{
    private readonly DatasetReaderOptions _options;
    private readonly IReadOnlyList<RowGroupUnit> _units;
    private readonly IImageDecoder? _decoder;
    private readonly ImageStageOptions? _cropOptions;

    private DatasetReader(DatasetFolder dataset, DatasetClasses classes, DatasetReaderOptions options,
        IReadOnlyList<RowGroupUnit> units, long rows)
    {
        Dataset = dataset;
        Classes = classes;
        _options = options;
        _units = units;
        RowCount = rows;
        if (options.PixelSize is { } size)
        {
            _decoder = DecoderRegistry.Create(options.Decoder);
            _cropOptions = new ImageStageOptions(ResizeShorter: size, Crop: size);
        }
    }

    public DatasetFolder Dataset { get; }

    /// <summary>The label numbering of every batch.</summary>
    public DatasetClasses Classes { get; }

    /// <summary>Rows one epoch reads (after the split and super-class filters).</summary>
    public long RowCount { get; }

    /// <summary>Most rows held at once by any epoch so far (the memory bound, in rows; for tests and tuning).</summary>
    public int PeakBufferedRows { get; private set; }

    /// <summary>Opens a dataset folder; reads only the file footers and class_counts.parquet.</summary>
    public static async Task<DatasetReader> OpenAsync(string datasetDir, DatasetReaderOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        options ??= new DatasetReaderOptions();
        options.Validate();
        DatasetFolder dataset = DatasetFolder.Open(datasetDir);
        DatasetClasses classes = await DatasetClasses.ReadAsync(dataset, cancellationToken).ConfigureAwait(false);
        var units = new List<RowGroupUnit>();
        long rows = 0;
        foreach (DatasetImageFile file in dataset.ImageFiles)
        {
            if (!Selected(options.Splits, file.Split) || !Selected(options.Supercategories, file.Supercategory))
                continue;
            await using ImageColumnReader reader = await ImageColumnReader.OpenAsync(file.Path, cancellationToken).ConfigureAwait(false);
            for (int g = 0; g < reader.RowGroupCount; g++)
            {
                long groupRows = reader.RowGroupRows(g);
                if (groupRows == 0) continue;
                units.Add(new RowGroupUnit(file, g));
                rows += groupRows;
            }
        }
        return new DatasetReader(dataset, classes, options, units, rows);
    }

    /// <summary>One epoch of batches; the order depends only on the seed and <paramref name="epoch"/>.</summary>
    public async IAsyncEnumerable<TrainingBatch> ReadBatchesAsync(int epoch = 0,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var random = new Random(HashCode.Combine(_options.Seed, epoch) & int.MaxValue);
        var order = new RowGroupUnit[_units.Count];
        for (int i = 0; i < order.Length; i++) order[i] = _units[i];
        if (_options.Shuffle) random.Shuffle(order);

        ImageColumns columns = ImageColumns.None;
        if (_options.Embeddings) columns |= ImageColumns.Embedding;
        if (_options.Boxes) columns |= ImageColumns.Boxes | ImageColumns.Sizes;
        if (_options.PixelSize is not null) columns |= ImageColumns.Image | ImageColumns.Sizes;

        // rows waiting to be batched: the window's rows plus the short tail of the previous window
        var pending = new List<PendingRow>();
        int next = 0;
        while (next < order.Length)
        {
            for (int loaded = 0; loaded < _options.ShuffleWindow && next < order.Length; loaded++, next++)
            {
                RowGroupUnit unit = order[next];
                RowGroupColumns group;
                await using (ImageColumnReader reader = await ImageColumnReader.OpenAsync(unit.File.Path, cancellationToken).ConfigureAwait(false))
                    group = await reader.ReadAsync(unit.RowGroup, columns, cancellationToken).ConfigureAwait(false);
                for (int r = 0; r < group.Rows; r++)
                    pending.Add(new PendingRow(unit.File, group, r));
            }
            PeakBufferedRows = Math.Max(PeakBufferedRows, pending.Count);
            if (_options.Shuffle) ShuffleTail(random, pending);

            bool last = next >= order.Length;
            int start = 0;
            while (pending.Count - start >= _options.BatchSize || (last && pending.Count - start > 0 && !_options.DropLast))
            {
                int count = Math.Min(_options.BatchSize, pending.Count - start);
                yield return BuildBatch(pending, start, count);
                start += count;
            }
            pending.RemoveRange(0, last ? pending.Count : start);
        }
    }

    /// <summary>True when <paramref name="filter"/> is null (no filter) or names <paramref name="value"/>.</summary>
    internal static bool Selected(IReadOnlyList<string>? filter, string value)
    {
        if (filter is null) return true;
        for (int i = 0; i < filter.Count; i++)
            if (string.Equals(filter[i], value, StringComparison.Ordinal)) return true;
        return false;
    }

    private static void ShuffleTail(Random random, List<PendingRow> rows)
    {
        for (int i = rows.Count - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (rows[i], rows[j]) = (rows[j], rows[i]);
        }
    }

    private TrainingBatch BuildBatch(List<PendingRow> pending, int start, int count)
    {
        int dimension = 0;
        if (_options.Embeddings)
        {
            PendingRow first = pending[start];
            dimension = EmbeddingLength(first);
            if (dimension == 0)
                throw new InvalidDataException($"{first.File.Path}: image {first.Group.ImageIds[first.Row]} has an empty embedding");
        }
        var batch = new TrainingBatch(count, dimension, _options.PixelSize ?? 0, _options.Boxes);
        try
        {
            FillBatch(pending, start, batch);
        }
        catch
        {
            batch.Dispose();
            throw;
        }
        return batch;
    }

    private void FillBatch(List<PendingRow> pending, int start, TrainingBatch batch)
    {
        int dimension = batch.EmbeddingDimension;
        for (int i = 0; i < batch.Count; i++)
        {
            PendingRow row = pending[start + i];
            RowGroupColumns g = row.Group;
            int r = row.Row;
            long imageId = g.ImageIds[r];
            batch.ImageIds[i] = imageId;
            batch.CategoryIds[i] = g.CategoryIds[r];
            batch.Labels[i] = Classes.LabelOf(g.CategoryIds[r], imageId);
            batch.Splits[i] = row.File.Split;
            batch.Supercategories[i] = row.File.Supercategory;
            if (dimension > 0)
            {
                int length = EmbeddingLength(row);
                if (length != dimension)
                    throw new InvalidDataException($"{row.File.Path}: image {imageId} has an embedding of {length} values, not {dimension}");
                g.EmbeddingValues.AsSpan(g.EmbeddingStart![r], length).CopyTo(batch.EmbeddingBuffer(i));
            }
            if (batch.Boxes is not null)
            {
                batch.Boxes[i] = g.Boxes![r];
                batch.ResizedWidths![i] = g.ResizedWidths![r];
                batch.ResizedHeights![i] = g.ResizedHeights![r];
            }
        }
        if (_options.PixelSize is { } size)
            DecodePixels(pending, start, batch, size);
    }

    private static int EmbeddingLength(PendingRow row)
    {
        int length = row.Group.EmbeddingLength![row.Row];
        if (length < 0)
            throw new InvalidDataException(
                $"{row.File.Path}: image {row.Group.ImageIds[row.Row]} has no embedding (was the job run with --model none?)");
        return length;
    }

    private void DecodePixels(List<PendingRow> pending, int start, TrainingBatch batch, int size)
    {
        IImageDecoder decoder = _decoder!;
        ImageStageOptions crop = _cropOptions!;
        // one closure per batch, not per image: the decoder is thread-safe and each row owns its slice of the buffer
        try
        {
            Parallel.For(0, batch.Count, new ParallelOptions { MaxDegreeOfParallelism = _options.DecodeThreads },
                i => DecodeRow(pending[start + i], batch, i, decoder, crop, size));
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            // the caller sees the row's own error, not the thread pool's wrapper
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
    }

    private static void DecodeRow(PendingRow row, TrainingBatch batch, int i, IImageDecoder decoder, ImageStageOptions crop, int size)
    {
        RowGroupColumns g = row.Group;
        long imageId = g.ImageIds[row.Row];
        byte[] jpeg = g.Images![row.Row] ?? throw new InvalidDataException(
            $"{row.File.Path}: image {imageId} has no stored copy (run the job with --store-images PX to read pixels)");
        PreparedImage prepared;
        try
        {
            prepared = decoder.Prepare(jpeg, 0, 0, crop, batch.PixelBuffer(i));
        }
        catch (ImageRejectedException e)
        {
            throw new InvalidDataException($"{row.File.Path}: the stored copy of image {imageId} does not decode: {e.Message}", e);
        }
        if (batch.PixelBoxes is not null)
            batch.PixelBoxes[i] = ToCrop(g.Boxes![row.Row], g.ResizedWidths![row.Row], g.ResizedHeights![row.Row],
                prepared.Width, prepared.Height, size);
    }

    /// <summary>
    /// Maps boxes from the stored frame (frameWidth × frameHeight) into the centre crop of side
    /// <paramref name="size"/> of the decoded copy's shorter-side resize; clipped, empty ones dropped.
    /// </summary>
    internal static BoxRow[] ToCrop(BoxRow[] boxes, int frameWidth, int frameHeight, int decodedWidth, int decodedHeight, int size)
    {
        if (boxes.Length == 0 || frameWidth <= 0 || frameHeight <= 0 || decodedWidth <= 0 || decodedHeight <= 0)
            return [];
        double scale = (double)size / Math.Min(decodedWidth, decodedHeight);
        double scaledWidth = decodedWidth * scale, scaledHeight = decodedHeight * scale;
        double left = (scaledWidth - size) / 2, top = (scaledHeight - size) / 2;
        // boxes are in the stored frame; normalise to it so a copy of another size maps alike
        double sx = scaledWidth / frameWidth, sy = scaledHeight / frameHeight;
        var result = new List<BoxRow>(boxes.Length);
        foreach (BoxRow box in boxes)
        {
            double x0 = Math.Clamp(box.X * sx - left, 0, size), y0 = Math.Clamp(box.Y * sy - top, 0, size);
            double x1 = Math.Clamp((box.X + box.W) * sx - left, 0, size), y1 = Math.Clamp((box.Y + box.H) * sy - top, 0, size);
            if (x1 - x0 <= 0 || y1 - y0 <= 0) continue;
            result.Add(new BoxRow((float)x0, (float)y0, (float)(x1 - x0), (float)(y1 - y0), box.RelativeSize));
        }
        return result.ToArray();
    }

    private sealed record RowGroupUnit(DatasetImageFile File, int RowGroup);

    private readonly record struct PendingRow(DatasetImageFile File, RowGroupColumns Group, int Row);
}
