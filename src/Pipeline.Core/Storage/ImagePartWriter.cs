using Parquet;
using Pipeline.Schema;

namespace Pipeline.Storage;

/// <summary>
/// Streams <see cref="ImageRow"/>s into one Parquet file: rows are buffered only until a row group is full
/// (<see cref="ParquetLayoutOptions.RowGroupTargetBytes"/> or <see cref="ParquetLayoutOptions.RowGroupMaxRows"/>), then
/// encoded and written, so memory stays at about one row group whatever the file size.
/// Call <see cref="CompleteAsync"/> to write the footer; a writer disposed without it leaves no valid Parquet file.
/// </summary>
public sealed class ImagePartWriter : IAsyncDisposable
{
    private readonly Stream _output;
    private readonly bool _leaveOpen;
    private readonly ParquetWriter _writer;
    private readonly ImageRowSchema _schema;
    private readonly ParquetLayoutOptions _options;
    private readonly List<ImageRow> _pending = [];
    private readonly ImageColumnBuffers _columns = new();
    private long _pendingBytes;
    private bool _completed;
    private bool _disposed;

    private ImagePartWriter(Stream output, bool leaveOpen, ParquetWriter writer, ImageRowSchema schema, ParquetLayoutOptions options)
    {
        _output = output;
        _leaveOpen = leaveOpen;
        _writer = writer;
        _schema = schema;
        _options = options;
    }

    /// <summary>Starts a file on <paramref name="output"/>, which must report <see cref="Stream.Position"/>.</summary>
    public static async Task<ImagePartWriter> CreateAsync(Stream output, ImageFileLayout layout,
        ParquetLayoutOptions? options = null, bool leaveOpen = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        options ??= ParquetLayoutOptions.Default;
        options.Validate();
        var schema = ImageRowSchema.Create(layout);
        ParquetWriter writer = await ParquetWriter.CreateAsync(schema.Schema, output, options.ToParquetOptions(),
            append: false, cancellationToken).ConfigureAwait(false);
        return new ImagePartWriter(output, leaveOpen, writer, schema, options);
    }

    public ImageFileLayout Layout => _schema.Layout;

    /// <summary>Rows accepted so far (written or buffered).</summary>
    public long RowCount { get; private set; }

    public int RowGroupCount { get; private set; }

    /// <summary>Bytes already in the file plus the (uncompressed) estimate of the buffered row group.</summary>
    public long EstimatedFileBytes => _output.Position + _pendingBytes;

    public ValueTask WriteAsync(ImageRow row, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed || _completed, this);
        ValidateRow(row, _schema.Layout);
        _pending.Add(row);
        _pendingBytes += EstimateBytes(row);
        RowCount++;
        if (_pendingBytes >= _options.RowGroupTargetBytes || _pending.Count >= _options.RowGroupMaxRows)
            return new ValueTask(FlushRowGroupAsync(cancellationToken));
        return ValueTask.CompletedTask;
    }

    /// <summary>Writes the last row group and the footer (with optional key-value metadata) and flushes the stream.</summary>
    public async Task CompleteAsync(IReadOnlyDictionary<string, string>? metadata = null,
        CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed || _completed, this);
        await FlushRowGroupAsync(cancellationToken).ConfigureAwait(false);
        if (metadata is not null)
            _writer.CustomMetadata = metadata;
        await _writer.DisposeAsync().ConfigureAwait(false);
        _completed = true;
        await _output.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
            return;
        _disposed = true;
        // An incomplete writer is not disposed: that would write a footer and make a partial file look valid.
        if (!_leaveOpen)
            await _output.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Uncompressed size guess used to cut row groups and files; exactness does not matter.</summary>
    internal static long EstimateBytes(ImageRow row) =>
        48L + 2L * (row.FileName.Length + row.Species.Length + row.Split.Length + row.Supercategory.Length)
        + (row.Image?.Length ?? 0) + 20L * row.Boxes.Length + 4L * (row.Embedding?.Length ?? 0);

    internal static void ValidateRow(ImageRow row, ImageFileLayout layout)
    {
        ArgumentNullException.ThrowIfNull(row);
        // The record's annotations say non-null, but rows come from other code and a null here would fail deep in Parquet.Net.
        if (row.FileName is null || row.Species is null || row.Boxes is null)
            throw new ArgumentException($"image {row.ImageId}: file_name, species and boxes must not be null", nameof(row));
        if (layout == ImageFileLayout.Part && (row.Split is null || row.Supercategory is null))
            throw new ArgumentException($"image {row.ImageId}: split and supercategory must not be null in a part", nameof(row));
    }

    private async Task FlushRowGroupAsync(CancellationToken cancellationToken)
    {
        int rows = _pending.Count;
        if (rows == 0)
            return;
        ImageColumnBuffers c = _columns;
        c.Fill(_pending);
        ImageRowSchema s = _schema;
        using (ParquetRowGroupWriter group = _writer.CreateRowGroup())
        {
            await group.WriteAsync(s.ImageId, (ReadOnlyMemory<long>)c.ImageIds.AsMemory(0, rows), cancellationToken: cancellationToken).ConfigureAwait(false);
            await group.WriteAsync(s.FileName, new ArraySegment<string>(c.FileNames, 0, rows)).ConfigureAwait(false);
            await group.WriteAsync(s.CategoryId, (ReadOnlyMemory<int>)c.CategoryIds.AsMemory(0, rows), cancellationToken: cancellationToken).ConfigureAwait(false);
            await group.WriteAsync(s.Species, new ArraySegment<string>(c.Species, 0, rows)).ConfigureAwait(false);
            if (s.Layout == ImageFileLayout.Part)
            {
                await group.WriteAsync(s.Split, new ArraySegment<string>(c.Splits, 0, rows)).ConfigureAwait(false);
                await group.WriteAsync(s.Supercategory, new ArraySegment<string>(c.Supercategories, 0, rows)).ConfigureAwait(false);
            }
            await group.WriteAsync(s.Width, (ReadOnlyMemory<int>)c.Widths.AsMemory(0, rows), cancellationToken: cancellationToken).ConfigureAwait(false);
            await group.WriteAsync(s.Height, (ReadOnlyMemory<int>)c.Heights.AsMemory(0, rows), cancellationToken: cancellationToken).ConfigureAwait(false);
            await group.WriteAsync(s.ResizedWidth, (ReadOnlyMemory<int>)c.ResizedWidths.AsMemory(0, rows), cancellationToken: cancellationToken).ConfigureAwait(false);
            await group.WriteAsync(s.ResizedHeight, (ReadOnlyMemory<int>)c.ResizedHeights.AsMemory(0, rows), cancellationToken: cancellationToken).ConfigureAwait(false);
            await group.WriteAsync(s.Image, new ArraySegment<byte[]?>(c.Images, 0, rows)).ConfigureAwait(false);

            ReadOnlyMemory<int> boxDefinitions = c.BoxDefinitionLevels.AsMemory(0, c.BoxLevelCount);
            ReadOnlyMemory<int> boxRepetitions = c.BoxRepetitionLevels.AsMemory(0, c.BoxLevelCount);
            await group.WriteAllPartsAsync<float>(s.BoxX, c.BoxX.AsMemory(0, c.BoxCount), boxDefinitions, boxRepetitions, cancellationToken).ConfigureAwait(false);
            await group.WriteAllPartsAsync<float>(s.BoxY, c.BoxY.AsMemory(0, c.BoxCount), boxDefinitions, boxRepetitions, cancellationToken).ConfigureAwait(false);
            await group.WriteAllPartsAsync<float>(s.BoxW, c.BoxW.AsMemory(0, c.BoxCount), boxDefinitions, boxRepetitions, cancellationToken).ConfigureAwait(false);
            await group.WriteAllPartsAsync<float>(s.BoxH, c.BoxH.AsMemory(0, c.BoxCount), boxDefinitions, boxRepetitions, cancellationToken).ConfigureAwait(false);
            await group.WriteAllPartsAsync<float>(s.BoxRelativeSize, c.BoxRelativeSizes.AsMemory(0, c.BoxCount), boxDefinitions, boxRepetitions, cancellationToken).ConfigureAwait(false);

            await group.WriteAllPartsAsync<float>(s.Embedding, c.EmbeddingValues.AsMemory(0, c.EmbeddingValueCount),
                c.EmbeddingDefinitionLevels.AsMemory(0, c.EmbeddingLevelCount),
                c.EmbeddingRepetitionLevels.AsMemory(0, c.EmbeddingLevelCount), cancellationToken).ConfigureAwait(false);
            group.CompleteValidate();
        }
        c.ReleaseReferences(rows);
        _pending.Clear();
        _pendingBytes = 0;
        RowGroupCount++;
    }

    /// <summary>Column arrays of one row group, grown as needed and reused for the next (no per-row-group garbage).</summary>
    private sealed class ImageColumnBuffers
    {
        public long[] ImageIds = [];
        public string[] FileNames = [];
        public int[] CategoryIds = [];
        public string[] Species = [];
        public string[] Splits = [];
        public string[] Supercategories = [];
        public int[] Widths = [];
        public int[] Heights = [];
        public int[] ResizedWidths = [];
        public int[] ResizedHeights = [];
        public byte[]?[] Images = [];
        public float[] BoxX = [], BoxY = [], BoxW = [], BoxH = [], BoxRelativeSizes = [];
        public int[] BoxDefinitionLevels = [], BoxRepetitionLevels = [];
        public float[] EmbeddingValues = [];
        public int[] EmbeddingDefinitionLevels = [], EmbeddingRepetitionLevels = [];
        public int BoxCount, BoxLevelCount, EmbeddingValueCount, EmbeddingLevelCount;

        public void Fill(List<ImageRow> rows)
        {
            int n = rows.Count;
            int boxes = 0, boxLevels = 0, embeddingValues = 0, embeddingLevels = 0;
            for (int i = 0; i < n; i++)
            {
                ImageRow row = rows[i];
                boxes += row.Boxes.Length;
                boxLevels += Math.Max(1, row.Boxes.Length);
                int embeddingLength = row.Embedding?.Length ?? 0;
                embeddingValues += embeddingLength;
                embeddingLevels += Math.Max(1, embeddingLength);
            }
            EnsureRowCapacity(n);
            Grow(ref BoxX, boxes);
            Grow(ref BoxY, boxes);
            Grow(ref BoxW, boxes);
            Grow(ref BoxH, boxes);
            Grow(ref BoxRelativeSizes, boxes);
            Grow(ref BoxDefinitionLevels, boxLevels);
            Grow(ref BoxRepetitionLevels, boxLevels);
            Grow(ref EmbeddingValues, embeddingValues);
            Grow(ref EmbeddingDefinitionLevels, embeddingLevels);
            Grow(ref EmbeddingRepetitionLevels, embeddingLevels);

            int box = 0, boxLevel = 0, value = 0, level = 0;
            for (int i = 0; i < n; i++)
            {
                ImageRow row = rows[i];
                ImageIds[i] = row.ImageId;
                FileNames[i] = row.FileName;
                CategoryIds[i] = row.CategoryId;
                Species[i] = row.Species;
                Splits[i] = row.Split;
                Supercategories[i] = row.Supercategory;
                Widths[i] = row.Width;
                Heights[i] = row.Height;
                ResizedWidths[i] = row.ResizedWidth;
                ResizedHeights[i] = row.ResizedHeight;
                Images[i] = row.Image;

                BoxRow[] rowBoxes = row.Boxes;
                if (rowBoxes.Length == 0)
                {
                    BoxDefinitionLevels[boxLevel] = ImageRowSchema.EmptyListDefinitionLevel;
                    BoxRepetitionLevels[boxLevel++] = 0;
                }
                for (int j = 0; j < rowBoxes.Length; j++)
                {
                    BoxRow b = rowBoxes[j];
                    BoxX[box] = b.X;
                    BoxY[box] = b.Y;
                    BoxW[box] = b.W;
                    BoxH[box] = b.H;
                    BoxRelativeSizes[box++] = b.RelativeSize;
                    BoxDefinitionLevels[boxLevel] = ImageRowSchema.BoxValueDefinitionLevel;
                    BoxRepetitionLevels[boxLevel++] = j == 0 ? 0 : 1;
                }

                float[]? embedding = row.Embedding;
                if (embedding is null || embedding.Length == 0)
                {
                    EmbeddingDefinitionLevels[level] = embedding is null ? 0 : ImageRowSchema.EmptyListDefinitionLevel;
                    EmbeddingRepetitionLevels[level++] = 0;
                    continue;
                }
                embedding.CopyTo(EmbeddingValues.AsSpan(value));
                EmbeddingDefinitionLevels.AsSpan(level, embedding.Length).Fill(ImageRowSchema.EmbeddingValueDefinitionLevel);
                EmbeddingRepetitionLevels[level] = 0;
                EmbeddingRepetitionLevels.AsSpan(level + 1, embedding.Length - 1).Fill(1);
                value += embedding.Length;
                level += embedding.Length;
            }
            BoxCount = box;
            BoxLevelCount = boxLevel;
            EmbeddingValueCount = value;
            EmbeddingLevelCount = level;
        }

        /// <summary>Drops references to strings and image bytes so a flushed row group can be collected.</summary>
        public void ReleaseReferences(int rows)
        {
            Array.Clear(FileNames, 0, rows);
            Array.Clear(Species, 0, rows);
            Array.Clear(Splits, 0, rows);
            Array.Clear(Supercategories, 0, rows);
            Array.Clear(Images, 0, rows);
        }

        private void EnsureRowCapacity(int n)
        {
            Grow(ref ImageIds, n);
            Grow(ref FileNames, n);
            Grow(ref CategoryIds, n);
            Grow(ref Species, n);
            Grow(ref Splits, n);
            Grow(ref Supercategories, n);
            Grow(ref Widths, n);
            Grow(ref Heights, n);
            Grow(ref ResizedWidths, n);
            Grow(ref ResizedHeights, n);
            Grow(ref Images, n);
        }

        private static void Grow<T>(ref T[] array, int needed)
        {
            if (array.Length < needed)
                array = new T[Math.Max(needed, array.Length * 2)];
        }
    }
}
