using Pipeline.Schema;
using Pipeline.Storage;
using SkiaSharp;

namespace Pipeline.Tests.Analysis;

/// <summary>
/// A merged dataset written straight through <see cref="PartFiles"/> and <see cref="DatasetMerger"/> (no model, no
/// cluster): 70 rows in 5 partitions and many small row groups. Each row's embedding starts with its image id and
/// category id, so a test can tell whether a row's label and embedding stayed together.
/// </summary>
public sealed class SmallDataset : IDisposable
{
    public const int EmbeddingLength = 4;

    /// <summary>(split, supercategory, first image id, rows, quarantined) of each partition.</summary>
    public static readonly (string Split, string Super, long First, int Rows, int Errors)[] Partitions =
    [
        ("train", "Aves", 1000, 23, 0),
        ("train", "Aves", 2000, 17, 0),
        ("train", "Plantae", 3000, 15, 2),
        ("val", "Aves", 4000, 9, 0),
        ("val", "Plantae", 5000, 6, 1),
    ];

    private SmallDataset(string root, string dataset, List<ImageRow> rows)
    {
        Root = root;
        Dataset = dataset;
        Rows = rows;
    }

    public string Root { get; }
    public string Dataset { get; }
    public IReadOnlyList<ImageRow> Rows { get; }

    /// <summary>Aves species are categories 10..12, Plantae 20..21, by image id.</summary>
    public static int CategoryOf(string super, long imageId) => super == "Aves" ? 10 + (int)(imageId % 3) : 20 + (int)(imageId % 2);

    public static async Task<SmallDataset> CreateAsync(int rowGroupRows = 5, bool embeddings = true, bool storedImages = false)
    {
        string root = Directory.CreateTempSubdirectory("pipeline-analysis-small-").FullName;
        var layout = new ParquetLayoutOptions { RowGroupMaxRows = rowGroupRows };
        byte[]? jpeg = storedImages ? HalfRedHalfBlueJpeg() : null;
        var commits = new List<PartCommit>();
        var all = new List<ImageRow>();
        var classes = new Dictionary<(int, string), ClassCountRow>();
        var bins = new List<HistogramBinRow>();
        long quarantined = 0;
        foreach (var (split, super, first, count, errors) in Partitions)
        {
            var rows = new List<ImageRow>();
            for (int i = 0; i < count; i++)
            {
                long id = first + i;
                int category = CategoryOf(super, id);
                var boxes = new BoxRow[(int)(id % 3)];
                for (int b = 0; b < boxes.Length; b++) boxes[b] = new BoxRow(32, 0, 32, 48, 0.5f);
                float[]? embedding = embeddings ? [id, category, 0.5f, -1f] : null;
                rows.Add(new ImageRow(id, $"train_val_images/{super}/Species {category}/{id:x32}.jpg", category, $"Species {category}",
                    split, super, 640, 480, 64, 48, jpeg, boxes, embedding));
                var key = (category, split);
                classes[key] = classes.TryGetValue(key, out var c)
                    ? c with { Images = c.Images + 1, Boxes = c.Boxes + boxes.Length }
                    : new ClassCountRow(category, $"Species {category}", super, split, 1, boxes.Length);
            }
            var errorRows = new List<ErrorRow>();
            for (int e = 0; e < errors; e++)
                errorRows.Add(new ErrorRow(first + 900 + e, $"train_val_images/{super}/bad-{e}.jpg", "decode", "Truncated", "ends before EOI", "w1", 1));
            quarantined += errors;
            commits.Add(await PartFiles.WriteAttemptAsync(root, $"{split}-{super}-{first}", 1, rows, errorRows, layout));
            all.AddRange(rows);
        }
        bins.Add(new HistogramBinRow("train", "Aves", 0.48, 0.5, 10));
        bins.Add(new HistogramBinRow("train", "Aves", 0.5, 0.52, 17));
        var classRows = classes.Values.OrderBy(c => c.Split, StringComparer.Ordinal).ThenBy(c => c.CategoryId).ToList();
        MergeResult merged = await DatasetMerger.MergeAsync(new MergeRequest(root, "small-job", "config", embeddings ? "model" : null,
            all.Count + quarantined, commits, bins, classRows) { Layout = layout });
        return new SmallDataset(root, merged.DatasetPath, all);
    }

    /// <summary>A 64×48 JPEG: the left half red, the right half blue.</summary>
    public static byte[] HalfRedHalfBlueJpeg()
    {
        using var bitmap = new SKBitmap(64, 48, SKColorType.Rgba8888, SKAlphaType.Opaque);
        for (int y = 0; y < 48; y++)
            for (int x = 0; x < 64; x++)
                bitmap.SetPixel(x, y, x < 32 ? new SKColor(255, 0, 0) : new SKColor(0, 0, 255));
        using SKData data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 95);
        return data.ToArray();
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
