using Parquet;
using Parquet.Schema;
using Pipeline.Schema;
using Pipeline.Storage;

namespace Pipeline.Analysis;

/// <summary>Columns of an image file beyond image_id and category_id, read only when asked for.</summary>
[Flags]
public enum ImageColumns
{
    None = 0,
    /// <summary>width, height, resized_width, resized_height.</summary>
    Sizes = 1,
    Embedding = 2,
    Boxes = 4,
    /// <summary>The stored JPEG copy (large: read it only to decode pixels).</summary>
    Image = 8,
}

/// <summary>
/// Some columns of one row group. Embeddings are flat: row i's vector is
/// <c>EmbeddingValues[EmbeddingStart[i] .. EmbeddingStart[i] + EmbeddingLength[i]]</c>, length -1 for a null embedding.
/// </summary>
internal sealed class RowGroupColumns(int rows)
{
    public int Rows { get; } = rows;
    public long[] ImageIds { get; } = new long[rows];
    public int[] CategoryIds { get; } = new int[rows];
    public int[]? Widths { get; set; }
    public int[]? Heights { get; set; }
    public int[]? ResizedWidths { get; set; }
    public int[]? ResizedHeights { get; set; }
    public float[]? EmbeddingValues { get; set; }
    public int[]? EmbeddingStart { get; set; }
    public int[]? EmbeddingLength { get; set; }
    public BoxRow[][]? Boxes { get; set; }
    public byte[]?[]? Images { get; set; }
}

/// <summary>
/// Reads chosen columns of a dataset image file one row group at a time (column projection: a training loop on
/// embeddings never touches the stored JPEG bytes). Same on-disk schema as <see cref="ImagePartReader"/>, which reads
/// every column.
/// </summary>
internal sealed class ImageColumnReader : IAsyncDisposable
{
    private readonly ParquetReader _reader;
    private readonly string _name;
    private readonly Dictionary<string, DataField> _fields;
    private int[] _definitions = [];
    private int[] _repetitions = [];

    private ImageColumnReader(ParquetReader reader, string name)
    {
        _reader = reader;
        _name = name;
        _fields = new Dictionary<string, DataField>(StringComparer.Ordinal);
        foreach (DataField field in reader.Schema.GetDataFields())
            _fields[field.Path.ToString()] = field;
        Field(ImageRowSchema.ImageIdPath);
        Field(ImageRowSchema.CategoryIdPath);
    }

    public static async Task<ImageColumnReader> OpenAsync(string path, CancellationToken cancellationToken)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16,
            FileOptions.Asynchronous | FileOptions.RandomAccess);
        ParquetReader? reader = null;
        try
        {
            reader = await ParquetReader.CreateAsync(stream, null, false, cancellationToken).ConfigureAwait(false);
            return new ImageColumnReader(reader, path);
        }
        catch (Exception e) when (reader is null && e is not OperationCanceledException)
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw new InvalidDataException($"{path}: not a readable Parquet file: {e.Message}", e);
        }
        catch
        {
            if (reader is not null) await reader.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public int RowGroupCount => _reader.RowGroupCount;

    public long RowGroupRows(int index) => _reader.OpenRowGroupReader(index).RowCount;

    public async Task<RowGroupColumns> ReadAsync(int index, ImageColumns columns, CancellationToken cancellationToken)
    {
        ParquetRowGroupReader group = _reader.OpenRowGroupReader(index);
        var result = new RowGroupColumns(checked((int)group.RowCount));
        await group.ReadAsync<long>(Field(ImageRowSchema.ImageIdPath), result.ImageIds, cancellationToken: cancellationToken).ConfigureAwait(false);
        await group.ReadAsync<int>(Field(ImageRowSchema.CategoryIdPath), result.CategoryIds, cancellationToken: cancellationToken).ConfigureAwait(false);
        if ((columns & ImageColumns.Sizes) != 0)
        {
            result.Widths = await ReadIntsAsync(group, ImageRowSchema.WidthPath, result.Rows, cancellationToken).ConfigureAwait(false);
            result.Heights = await ReadIntsAsync(group, ImageRowSchema.HeightPath, result.Rows, cancellationToken).ConfigureAwait(false);
            result.ResizedWidths = await ReadIntsAsync(group, ImageRowSchema.ResizedWidthPath, result.Rows, cancellationToken).ConfigureAwait(false);
            result.ResizedHeights = await ReadIntsAsync(group, ImageRowSchema.ResizedHeightPath, result.Rows, cancellationToken).ConfigureAwait(false);
        }
        if ((columns & ImageColumns.Embedding) != 0)
            await ReadEmbeddingsAsync(group, result, cancellationToken).ConfigureAwait(false);
        if ((columns & ImageColumns.Boxes) != 0)
            await ReadBoxesAsync(group, result, cancellationToken).ConfigureAwait(false);
        if ((columns & ImageColumns.Image) != 0)
        {
            result.Images = new byte[]?[result.Rows];
            await group.ReadAsync(Field(ImageRowSchema.ImagePath), result.Images, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        return result;
    }

    public ValueTask DisposeAsync() => _reader.DisposeAsync();

    private DataField Field(string path) => _fields.TryGetValue(path, out DataField? field)
        ? field
        : throw new InvalidDataException($"{_name}: not a dataset image file, column '{path}' is missing");

    private async Task<int[]> ReadIntsAsync(ParquetRowGroupReader group, string path, int rows, CancellationToken cancellationToken)
    {
        var values = new int[rows];
        await group.ReadAsync<int>(Field(path), values, cancellationToken: cancellationToken).ConfigureAwait(false);
        return values;
    }

    private async Task ReadEmbeddingsAsync(ParquetRowGroupReader group, RowGroupColumns result, CancellationToken cancellationToken)
    {
        DataField field = Field(ImageRowSchema.EmbeddingPath);
        if (field.MaxDefinitionLevel != ImageRowSchema.EmbeddingValueDefinitionLevel || field.MaxRepetitionLevel != 1)
            throw new InvalidDataException($"{_name}: embedding is not an optional list of required floats");
        int levels = LevelCount(group, field);
        EnsureLevels(levels);
        var values = new float[levels];
        await group.ReadRawAsync<float>(field, values, _definitions.AsMemory(0, levels), _repetitions.AsMemory(0, levels),
            cancellationToken).ConfigureAwait(false);
        var start = new int[result.Rows];
        var length = new int[result.Rows];
        int row = -1, value = 0, i = 0;
        while (i < levels)
        {
            row++;
            if (row >= result.Rows)
                throw new InvalidDataException($"{_name}: embedding column holds more lists than the row group's {result.Rows} rows");
            if (_definitions[i] < ImageRowSchema.EmbeddingValueDefinitionLevel)
            {
                start[row] = value;
                length[row] = _definitions[i] == 0 ? -1 : 0;
                i++;
                continue;
            }
            int count = 1;
            while (i + count < levels && _repetitions[i + count] == 1)
                count++;
            start[row] = value;
            length[row] = count;
            value += count;
            i += count;
        }
        if (row != result.Rows - 1)
            throw new InvalidDataException($"{_name}: embedding column holds {row + 1} lists for {result.Rows} rows");
        result.EmbeddingValues = values;
        result.EmbeddingStart = start;
        result.EmbeddingLength = length;
    }

    private async Task ReadBoxesAsync(ParquetRowGroupReader group, RowGroupColumns result, CancellationToken cancellationToken)
    {
        DataField xField = Field(ImageRowSchema.BoxXPath);
        if (xField.MaxDefinitionLevel != ImageRowSchema.BoxValueDefinitionLevel || xField.MaxRepetitionLevel != 1)
            throw new InvalidDataException($"{_name}: boxes is not an optional list of optional structs of required floats");
        int levels = LevelCount(group, xField);
        EnsureLevels(levels);
        Memory<int> definitions = _definitions.AsMemory(0, levels), repetitions = _repetitions.AsMemory(0, levels);
        // the five members share one shape, so their levels are identical
        var x = new float[levels];
        var y = new float[levels];
        var w = new float[levels];
        var h = new float[levels];
        var relative = new float[levels];
        await group.ReadRawAsync<float>(Field(ImageRowSchema.BoxYPath), y, definitions, repetitions, cancellationToken).ConfigureAwait(false);
        await group.ReadRawAsync<float>(Field(ImageRowSchema.BoxWPath), w, definitions, repetitions, cancellationToken).ConfigureAwait(false);
        await group.ReadRawAsync<float>(Field(ImageRowSchema.BoxHPath), h, definitions, repetitions, cancellationToken).ConfigureAwait(false);
        await group.ReadRawAsync<float>(Field(ImageRowSchema.BoxRelativeSizePath), relative, definitions, repetitions, cancellationToken).ConfigureAwait(false);
        await group.ReadRawAsync<float>(xField, x, definitions, repetitions, cancellationToken).ConfigureAwait(false);

        var boxes = new BoxRow[result.Rows][];
        int row = -1, value = 0, i = 0;
        while (i < levels)
        {
            row++;
            if (row >= result.Rows)
                throw new InvalidDataException($"{_name}: boxes column holds more lists than the row group's {result.Rows} rows");
            if (_definitions[i] < ImageRowSchema.BoxValueDefinitionLevel)
            {
                if (_definitions[i] == ImageRowSchema.BoxValueDefinitionLevel - 1)
                    throw new InvalidDataException($"{_name}: image {result.ImageIds[row]} has a null box");
                boxes[row] = [];
                i++;
                continue;
            }
            int count = 1;
            while (i + count < levels && _repetitions[i + count] == 1)
                count++;
            var rowBoxes = new BoxRow[count];
            for (int j = 0; j < count; j++, value++)
                rowBoxes[j] = new BoxRow(x[value], y[value], w[value], h[value], relative[value]);
            boxes[row] = rowBoxes;
            i += count;
        }
        if (row != result.Rows - 1)
            throw new InvalidDataException($"{_name}: boxes column holds {row + 1} lists for {result.Rows} rows");
        result.Boxes = boxes;
    }

    private static int LevelCount(ParquetRowGroupReader group, DataField field) =>
        checked((int)(group.GetMetadata(field)?.MetaData?.NumValues
            ?? throw new InvalidDataException($"column {field.Path} has no metadata")));

    private void EnsureLevels(int levels)
    {
        if (_definitions.Length >= levels) return;
        _definitions = new int[levels];
        _repetitions = new int[levels];
    }
}
