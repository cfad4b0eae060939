using Parquet;
using Pipeline.Schema;

namespace Pipeline.Storage;

/// <summary>
/// Streams <see cref="ImageRow"/>s into one Parquet file: rows are buffered only until a row group is full
/// (<see cref="ParquetLayoutOptions.RowGroupTargetBytes"/> or <see cref="ParquetLayoutOptions.RowGroupMaxRows"/>), then
/// encoded and written, so memory stays at about one row group whatever the file size.
/// Call <see cref="RowGroupWriter{TRow}.CompleteAsync"/> to write the footer; a writer disposed without it leaves no
/// valid Parquet file.
/// </summary>
public sealed class ImagePartWriter : RowGroupWriter<ImageRow>
{
    private readonly ImageRowSchema _schema;
    private readonly ParquetLayoutOptions _options;
    private readonly ImageColumnBuffers _columns = new();
    private long _pendingBytes;

    private ImagePartWriter(Stream output, bool leaveOpen, ParquetWriter writer, ImageRowSchema schema, ParquetLayoutOptions options)
        : base(output, leaveOpen, writer)
    {
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

    /// <summary>Bytes already in the file plus the (uncompressed) estimate of the buffered row group.</summary>
    public long EstimatedFileBytes => Output.Position + _pendingBytes;

    private protected override void Accept(ImageRow row)
    {
        ValidateRow(row, _schema.Layout);
        _pendingBytes += EstimateBytes(row);
    }

    private protected override bool IsRowGroupFull(int rows) =>
        _pendingBytes >= _options.RowGroupTargetBytes || rows >= _options.RowGroupMaxRows;

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

    private protected override async Task WriteColumnsAsync(ParquetRowGroupWriter group, List<ImageRow> pending,
        CancellationToken cancellationToken)
    {
        int rows = pending.Count;
        ImageColumnBuffers c = _columns;
        c.Fill(pending);
        ImageRowSchema s = _schema;
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
    }

    private protected override void OnRowGroupWritten(int rows)
    {
        _columns.ReleaseReferences(rows);
        _pendingBytes = 0;
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
