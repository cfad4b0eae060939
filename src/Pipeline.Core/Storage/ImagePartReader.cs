using System.Runtime.CompilerServices;
using Parquet;
using Parquet.Schema;
using Pipeline.Schema;

namespace Pipeline.Storage;

/// <summary>
/// Reads <see cref="ImageRow"/>s back from a part or a merged dataset file one row group at a time, so memory
/// stays at about one row group. Split and supercategory come from the columns of a part, or from the
/// <c>split=…/supercategory=…</c> folders of a dataset file.
/// </summary>
public sealed class ImagePartReader : IAsyncDisposable
{
    private readonly ParquetReader _reader;
    private readonly ImageFields _fields;
    private readonly string? _pathSplit;
    private readonly string? _pathSupercategory;
    private int[] _definitionLevels = [];
    private int[] _repetitionLevels = [];

    private ImagePartReader(ParquetReader reader, ImageFields fields, string? pathSplit, string? pathSupercategory)
    {
        _reader = reader;
        _fields = fields;
        _pathSplit = pathSplit;
        _pathSupercategory = pathSupercategory;
        long rows = 0;
        for (int i = 0; i < reader.RowGroupCount; i++)
            rows += reader.OpenRowGroupReader(i).RowCount;
        RowCount = rows;
    }

    /// <summary>Opens a file; a dataset file takes its split and supercategory from its hive folders.</summary>
    public static async Task<ImagePartReader> OpenAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16,
            FileOptions.Asynchronous | FileOptions.RandomAccess);
        HivePath.TryParsePartition(path, out string? split, out string? supercategory);
        try
        {
            return await OpenAsync(stream, split, supercategory, leaveOpen: false, path, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Opens a file on a seekable stream; <paramref name="split"/> and <paramref name="supercategory"/>
    /// are needed only for a dataset file, whose rows do not carry them.</summary>
    public static Task<ImagePartReader> OpenAsync(Stream stream, string? split = null, string? supercategory = null,
        bool leaveOpen = false, CancellationToken cancellationToken = default) =>
        OpenAsync(stream, split, supercategory, leaveOpen, "stream", cancellationToken);

    private static async Task<ImagePartReader> OpenAsync(Stream stream, string? split, string? supercategory,
        bool leaveOpen, string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ParquetReader reader = await ParquetReader.CreateAsync(stream, null, leaveOpen, cancellationToken).ConfigureAwait(false);
        try
        {
            ImageFields fields = ImageFields.Find(reader.Schema, name);
            if (fields.Layout == ImageFileLayout.Dataset && (split is null || supercategory is null))
                throw new InvalidDataException(
                    $"{name}: a dataset image file has no split/supercategory columns and no split=…/supercategory=… folders to take them from");
            return new ImagePartReader(reader, fields, split, supercategory);
        }
        catch
        {
            await reader.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public ImageFileLayout Layout => _fields.Layout;

    public int RowGroupCount => _reader.RowGroupCount;

    /// <summary>Rows in the file, from the footer.</summary>
    public long RowCount { get; }

    /// <summary>Key-value metadata of the footer (a part records its partition, attempt, split and supercategory).</summary>
    public IReadOnlyDictionary<string, string> CustomMetadata => _reader.CustomMetadata;

    public async IAsyncEnumerable<ImageRow> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        for (int g = 0; g < RowGroupCount; g++)
        {
            ImageRow[] rows = await ReadRowGroupAsync(g, cancellationToken).ConfigureAwait(false);
            for (int i = 0; i < rows.Length; i++)
                yield return rows[i];
        }
    }

    public async Task<ImageRow[]> ReadRowGroupAsync(int index, CancellationToken cancellationToken = default)
    {
        ParquetRowGroupReader group = _reader.OpenRowGroupReader(index);
        int n = checked((int)group.RowCount);
        ImageFields f = _fields;

        var imageIds = new long[n];
        var fileNames = new string?[n];
        var categoryIds = new int[n];
        var species = new string?[n];
        var widths = new int[n];
        var heights = new int[n];
        var resizedWidths = new int[n];
        var resizedHeights = new int[n];
        var images = new byte[]?[n];
        await group.ReadAsync<long>(f.ImageId, imageIds, cancellationToken: cancellationToken).ConfigureAwait(false);
        await group.ReadAsync(f.FileName, fileNames, cancellationToken: cancellationToken).ConfigureAwait(false);
        await group.ReadAsync<int>(f.CategoryId, categoryIds, cancellationToken: cancellationToken).ConfigureAwait(false);
        await group.ReadAsync(f.Species, species, cancellationToken: cancellationToken).ConfigureAwait(false);
        await group.ReadAsync<int>(f.Width, widths, cancellationToken: cancellationToken).ConfigureAwait(false);
        await group.ReadAsync<int>(f.Height, heights, cancellationToken: cancellationToken).ConfigureAwait(false);
        await group.ReadAsync<int>(f.ResizedWidth, resizedWidths, cancellationToken: cancellationToken).ConfigureAwait(false);
        await group.ReadAsync<int>(f.ResizedHeight, resizedHeights, cancellationToken: cancellationToken).ConfigureAwait(false);
        await group.ReadAsync(f.Image, images, cancellationToken: cancellationToken).ConfigureAwait(false);

        string?[]? splits = null, supercategories = null;
        if (f.Split is not null && f.Supercategory is not null)
        {
            splits = new string?[n];
            supercategories = new string?[n];
            await group.ReadAsync(f.Split, splits, cancellationToken: cancellationToken).ConfigureAwait(false);
            await group.ReadAsync(f.Supercategory, supercategories, cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        BoxRow[][] boxes = await ReadBoxesAsync(group, n, cancellationToken).ConfigureAwait(false);
        float[]?[] embeddings = await ReadEmbeddingsAsync(group, n, cancellationToken).ConfigureAwait(false);

        var rows = new ImageRow[n];
        for (int i = 0; i < n; i++)
        {
            rows[i] = new ImageRow(
                imageIds[i],
                fileNames[i] ?? throw NullIn("file_name", imageIds[i]),
                categoryIds[i],
                species[i] ?? throw NullIn("species", imageIds[i]),
                splits is null ? _pathSplit! : splits[i] ?? throw NullIn("split", imageIds[i]),
                supercategories is null ? _pathSupercategory! : supercategories[i] ?? throw NullIn("supercategory", imageIds[i]),
                widths[i],
                heights[i],
                resizedWidths[i],
                resizedHeights[i],
                images[i],
                boxes[i],
                embeddings[i]);
        }
        return rows;
    }

    public ValueTask DisposeAsync() => _reader.DisposeAsync();

    private static InvalidDataException NullIn(string column, long imageId) =>
        new($"image {imageId}: column {column} is null");

    private async Task<BoxRow[][]> ReadBoxesAsync(ParquetRowGroupReader group, int rows, CancellationToken cancellationToken)
    {
        ImageFields f = _fields;
        int levels = LevelCount(group, f.BoxX);
        EnsureLevelBuffers(levels);
        Memory<int> definitions = _definitionLevels.AsMemory(0, levels);
        Memory<int> repetitions = _repetitionLevels.AsMemory(0, levels);
        // The five struct members share one shape, so their levels are identical: the last read leaves them in the buffers.
        var x = new float[levels];
        var y = new float[levels];
        var w = new float[levels];
        var h = new float[levels];
        var relativeSize = new float[levels];
        await group.ReadRawAsync<float>(f.BoxY, y, definitions, repetitions, cancellationToken).ConfigureAwait(false);
        await group.ReadRawAsync<float>(f.BoxW, w, definitions, repetitions, cancellationToken).ConfigureAwait(false);
        await group.ReadRawAsync<float>(f.BoxH, h, definitions, repetitions, cancellationToken).ConfigureAwait(false);
        await group.ReadRawAsync<float>(f.BoxRelativeSize, relativeSize, definitions, repetitions, cancellationToken).ConfigureAwait(false);
        await group.ReadRawAsync<float>(f.BoxX, x, definitions, repetitions, cancellationToken).ConfigureAwait(false);

        var result = new BoxRow[rows][];
        int row = -1, value = 0, i = 0;
        int[] def = _definitionLevels, rep = _repetitionLevels;
        while (i < levels)
        {
            row++;
            if (row >= rows)
                throw new InvalidDataException($"boxes column holds more lists than the row group's {rows} rows");
            if (def[i] < ImageRowSchema.BoxValueDefinitionLevel)
            {
                // null list (0), empty list (1) or a null box (2): a null list reads back as no boxes, a null box is corrupt
                if (def[i] == ImageRowSchema.BoxValueDefinitionLevel - 1)
                    throw new InvalidDataException($"row {row} of the row group has a null box");
                result[row] = [];
                i++;
                continue;
            }
            int count = 1;
            while (i + count < levels && rep[i + count] == 1)
                count++;
            var rowBoxes = new BoxRow[count];
            for (int j = 0; j < count; j++, value++)
                rowBoxes[j] = new BoxRow(x[value], y[value], w[value], h[value], relativeSize[value]);
            result[row] = rowBoxes;
            i += count;
        }
        if (row != rows - 1)
            throw new InvalidDataException($"boxes column holds {row + 1} lists for {rows} rows");
        return result;
    }

    private async Task<float[]?[]> ReadEmbeddingsAsync(ParquetRowGroupReader group, int rows, CancellationToken cancellationToken)
    {
        int levels = LevelCount(group, _fields.Embedding);
        EnsureLevelBuffers(levels);
        var values = new float[levels];
        await group.ReadRawAsync<float>(_fields.Embedding, values, _definitionLevels.AsMemory(0, levels),
            _repetitionLevels.AsMemory(0, levels), cancellationToken).ConfigureAwait(false);

        var result = new float[]?[rows];
        int row = -1, value = 0, i = 0;
        int[] def = _definitionLevels, rep = _repetitionLevels;
        while (i < levels)
        {
            row++;
            if (row >= rows)
                throw new InvalidDataException($"embedding column holds more lists than the row group's {rows} rows");
            if (def[i] < ImageRowSchema.EmbeddingValueDefinitionLevel)
            {
                result[row] = def[i] == 0 ? null : [];
                i++;
                continue;
            }
            int count = 1;
            while (i + count < levels && rep[i + count] == 1)
                count++;
            result[row] = values.AsSpan(value, count).ToArray();
            value += count;
            i += count;
        }
        if (row != rows - 1)
            throw new InvalidDataException($"embedding column holds {row + 1} lists for {rows} rows");
        return result;
    }

    /// <summary>Levels in a column chunk: one per value, null or empty list, from the chunk's metadata.</summary>
    private static int LevelCount(ParquetRowGroupReader group, DataField field) =>
        checked((int)(group.GetMetadata(field)?.MetaData?.NumValues
            ?? throw new InvalidDataException($"column {field.Path} has no metadata")));

    private void EnsureLevelBuffers(int levels)
    {
        if (_definitionLevels.Length < levels)
        {
            _definitionLevels = new int[levels];
            _repetitionLevels = new int[levels];
        }
    }

    /// <summary>The fields of an image file as read from its footer, checked against the schema this code writes.</summary>
    private sealed record ImageFields(
        ImageFileLayout Layout,
        DataField ImageId, DataField FileName, DataField CategoryId, DataField Species,
        DataField? Split, DataField? Supercategory,
        DataField Width, DataField Height, DataField ResizedWidth, DataField ResizedHeight, DataField Image,
        DataField BoxX, DataField BoxY, DataField BoxW, DataField BoxH, DataField BoxRelativeSize, DataField Embedding)
    {
        public static ImageFields Find(ParquetSchema schema, string name)
        {
            var byPath = new Dictionary<string, DataField>(StringComparer.Ordinal);
            foreach (DataField field in schema.GetDataFields())
                byPath[field.Path.ToString()] = field;

            DataField Get(string path) => byPath.TryGetValue(path, out DataField? field)
                ? field
                : throw new InvalidDataException($"{name}: not an image row file, column '{path}' is missing");

            DataField boxX = Get(ImageRowSchema.BoxXPath);
            DataField embedding = Get(ImageRowSchema.EmbeddingPath);
            if (boxX.MaxDefinitionLevel != ImageRowSchema.BoxValueDefinitionLevel || boxX.MaxRepetitionLevel != 1)
                throw new InvalidDataException($"{name}: boxes is not an optional list of optional structs of required floats");
            if (embedding.MaxDefinitionLevel != ImageRowSchema.EmbeddingValueDefinitionLevel || embedding.MaxRepetitionLevel != 1)
                throw new InvalidDataException($"{name}: embedding is not an optional list of required floats");

            bool hasSplit = byPath.TryGetValue(ImageRowSchema.SplitPath, out DataField? split);
            bool hasSupercategory = byPath.TryGetValue(ImageRowSchema.SupercategoryPath, out DataField? supercategory);
            if (hasSplit != hasSupercategory)
                throw new InvalidDataException($"{name}: has only one of the split and supercategory columns");

            return new ImageFields(
                hasSplit ? ImageFileLayout.Part : ImageFileLayout.Dataset,
                Get(ImageRowSchema.ImageIdPath), Get(ImageRowSchema.FileNamePath), Get(ImageRowSchema.CategoryIdPath),
                Get(ImageRowSchema.SpeciesPath), split, supercategory,
                Get(ImageRowSchema.WidthPath), Get(ImageRowSchema.HeightPath), Get(ImageRowSchema.ResizedWidthPath),
                Get(ImageRowSchema.ResizedHeightPath), Get(ImageRowSchema.ImagePath),
                boxX, Get(ImageRowSchema.BoxYPath), Get(ImageRowSchema.BoxWPath), Get(ImageRowSchema.BoxHPath),
                Get(ImageRowSchema.BoxRelativeSizePath), embedding);
        }
    }
}
