using Parquet;
using Parquet.Schema;

namespace Pipeline.Storage;

/// <summary>One bin of the relative box size histogram (paper's Figure 4) of one (split, supercategory).</summary>
public sealed record HistogramBinRow(string Split, string Supercategory, double BinLo, double BinHi, long Count);

/// <summary>Images and boxes of one species in one split (paper's Table 2 per class).</summary>
public sealed record ClassCountRow(int CategoryId, string Species, string Supercategory, string Split, long Images, long Boxes);

/// <summary>
/// The two small statistics files of the dataset, box_size_histograms.parquet and class_counts.parquet. They hold a
/// few thousand rows at most (5,089 species × splits), so each is written as a single row group.
/// </summary>
public static class StatisticsFiles
{
    private static DataField<string> SplitField() => new("split", false);
    private static DataField<string> SupercategoryField() => new("supercategory", false);

    public static async Task WriteHistogramsAsync(Stream output, IReadOnlyList<HistogramBinRow> bins,
        ParquetLayoutOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(bins);
        int n = bins.Count;
        var splits = new string[n];
        var supercategories = new string[n];
        var lows = new double[n];
        var highs = new double[n];
        var counts = new long[n];
        for (int i = 0; i < n; i++)
        {
            HistogramBinRow bin = bins[i] ?? throw new ArgumentException($"histogram bin {i} is null", nameof(bins));
            splits[i] = bin.Split ?? throw new ArgumentException($"histogram bin {i} has no split", nameof(bins));
            supercategories[i] = bin.Supercategory ?? throw new ArgumentException($"histogram bin {i} has no supercategory", nameof(bins));
            if (!(bin.BinLo <= bin.BinHi))
                throw new ArgumentException($"histogram bin {i}: bin_lo {bin.BinLo} is not <= bin_hi {bin.BinHi}", nameof(bins));
            if (bin.Count < 0)
                throw new ArgumentException($"histogram bin {i}: negative count {bin.Count}", nameof(bins));
            lows[i] = bin.BinLo;
            highs[i] = bin.BinHi;
            counts[i] = bin.Count;
        }
        DataField split = SplitField(), supercategory = SupercategoryField();
        DataField binLo = new DataField<double>("bin_lo", false), binHi = new DataField<double>("bin_hi", false);
        DataField count = new DataField<long>("count", false);
        var schema = new ParquetSchema(split, supercategory, binLo, binHi, count);
        await using ParquetWriter writer = await ParquetWriter.CreateAsync(schema, output,
            (options ?? ParquetLayoutOptions.Default).ToParquetOptions(), false, cancellationToken).ConfigureAwait(false);
        if (n == 0)
            return;
        using ParquetRowGroupWriter group = writer.CreateRowGroup();
        await group.WriteAsync(split, splits).ConfigureAwait(false);
        await group.WriteAsync(supercategory, supercategories).ConfigureAwait(false);
        await group.WriteAsync(binLo, (ReadOnlyMemory<double>)lows, cancellationToken: cancellationToken).ConfigureAwait(false);
        await group.WriteAsync(binHi, (ReadOnlyMemory<double>)highs, cancellationToken: cancellationToken).ConfigureAwait(false);
        await group.WriteAsync(count, (ReadOnlyMemory<long>)counts, cancellationToken: cancellationToken).ConfigureAwait(false);
        group.CompleteValidate();
    }

    public static async Task WriteClassCountsAsync(Stream output, IReadOnlyList<ClassCountRow> classes,
        ParquetLayoutOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(classes);
        int n = classes.Count;
        var categoryIds = new int[n];
        var species = new string[n];
        var supercategories = new string[n];
        var splits = new string[n];
        var images = new long[n];
        var boxes = new long[n];
        for (int i = 0; i < n; i++)
        {
            ClassCountRow row = classes[i] ?? throw new ArgumentException($"class count {i} is null", nameof(classes));
            if (row.Species is null || row.Supercategory is null || row.Split is null)
                throw new ArgumentException($"class count {i} (category {row.CategoryId}): species, supercategory and split must not be null", nameof(classes));
            if (row.Images < 0 || row.Boxes < 0)
                throw new ArgumentException($"class count {i} (category {row.CategoryId}): negative count", nameof(classes));
            categoryIds[i] = row.CategoryId;
            species[i] = row.Species;
            supercategories[i] = row.Supercategory;
            splits[i] = row.Split;
            images[i] = row.Images;
            boxes[i] = row.Boxes;
        }
        DataField categoryId = new DataField<int>("category_id", false), speciesField = new DataField<string>("species", false);
        DataField supercategory = SupercategoryField(), split = SplitField();
        DataField imagesField = new DataField<long>("images", false), boxesField = new DataField<long>("boxes", false);
        var schema = new ParquetSchema(categoryId, speciesField, supercategory, split, imagesField, boxesField);
        await using ParquetWriter writer = await ParquetWriter.CreateAsync(schema, output,
            (options ?? ParquetLayoutOptions.Default).ToParquetOptions(), false, cancellationToken).ConfigureAwait(false);
        if (n == 0)
            return;
        using ParquetRowGroupWriter group = writer.CreateRowGroup();
        await group.WriteAsync(categoryId, (ReadOnlyMemory<int>)categoryIds, cancellationToken: cancellationToken).ConfigureAwait(false);
        await group.WriteAsync(speciesField, species).ConfigureAwait(false);
        await group.WriteAsync(supercategory, supercategories).ConfigureAwait(false);
        await group.WriteAsync(split, splits).ConfigureAwait(false);
        await group.WriteAsync(imagesField, (ReadOnlyMemory<long>)images, cancellationToken: cancellationToken).ConfigureAwait(false);
        await group.WriteAsync(boxesField, (ReadOnlyMemory<long>)boxes, cancellationToken: cancellationToken).ConfigureAwait(false);
        group.CompleteValidate();
    }

    public static async Task<IReadOnlyList<HistogramBinRow>> ReadHistogramsAsync(string path, CancellationToken cancellationToken = default)
    {
        await using ParquetReader reader = await ParquetReader.CreateAsync(path, null, cancellationToken).ConfigureAwait(false);
        var result = new List<HistogramBinRow>();
        DataField[] f = reader.Schema.GetDataFields();
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            ParquetRowGroupReader group = reader.OpenRowGroupReader(g);
            int n = checked((int)group.RowCount);
            var splits = new string?[n];
            var supercategories = new string?[n];
            var lows = new double[n];
            var highs = new double[n];
            var counts = new long[n];
            await group.ReadAsync(Field(f, "split", path), splits, cancellationToken: cancellationToken).ConfigureAwait(false);
            await group.ReadAsync(Field(f, "supercategory", path), supercategories, cancellationToken: cancellationToken).ConfigureAwait(false);
            await group.ReadAsync<double>(Field(f, "bin_lo", path), lows, cancellationToken: cancellationToken).ConfigureAwait(false);
            await group.ReadAsync<double>(Field(f, "bin_hi", path), highs, cancellationToken: cancellationToken).ConfigureAwait(false);
            await group.ReadAsync<long>(Field(f, "count", path), counts, cancellationToken: cancellationToken).ConfigureAwait(false);
            for (int i = 0; i < n; i++)
                result.Add(new HistogramBinRow(splits[i] ?? "", supercategories[i] ?? "", lows[i], highs[i], counts[i]));
        }
        return result;
    }

    public static async Task<IReadOnlyList<ClassCountRow>> ReadClassCountsAsync(string path, CancellationToken cancellationToken = default)
    {
        await using ParquetReader reader = await ParquetReader.CreateAsync(path, null, cancellationToken).ConfigureAwait(false);
        var result = new List<ClassCountRow>();
        DataField[] f = reader.Schema.GetDataFields();
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            ParquetRowGroupReader group = reader.OpenRowGroupReader(g);
            int n = checked((int)group.RowCount);
            var categoryIds = new int[n];
            var species = new string?[n];
            var supercategories = new string?[n];
            var splits = new string?[n];
            var images = new long[n];
            var boxes = new long[n];
            await group.ReadAsync<int>(Field(f, "category_id", path), categoryIds, cancellationToken: cancellationToken).ConfigureAwait(false);
            await group.ReadAsync(Field(f, "species", path), species, cancellationToken: cancellationToken).ConfigureAwait(false);
            await group.ReadAsync(Field(f, "supercategory", path), supercategories, cancellationToken: cancellationToken).ConfigureAwait(false);
            await group.ReadAsync(Field(f, "split", path), splits, cancellationToken: cancellationToken).ConfigureAwait(false);
            await group.ReadAsync<long>(Field(f, "images", path), images, cancellationToken: cancellationToken).ConfigureAwait(false);
            await group.ReadAsync<long>(Field(f, "boxes", path), boxes, cancellationToken: cancellationToken).ConfigureAwait(false);
            for (int i = 0; i < n; i++)
                result.Add(new ClassCountRow(categoryIds[i], species[i] ?? "", supercategories[i] ?? "", splits[i] ?? "", images[i], boxes[i]));
        }
        return result;
    }

    private static DataField Field(DataField[] fields, string name, string path)
    {
        foreach (DataField field in fields)
            if (field.Name == name)
                return field;
        throw new InvalidDataException($"{path}: column '{name}' is missing");
    }
}
