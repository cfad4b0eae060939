using DuckDB.NET.Data;
using Pipeline.Schema;
using Pipeline.Storage;

namespace Pipeline.Tests.Storage;

/// <summary>A fresh folder under the temp directory, deleted with everything in it at dispose.</summary>
public sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "pipeline-storage-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Deterministic image rows that look like the real thing: a JPEG-sized blob, a few boxes, an embedding.</summary>
public static class SampleRows
{
    public static ImageRow[] For(string split, string supercategory, long firstImageId, int count, int embeddingLength = 8,
        int imageBytes = 300)
    {
        var random = new Random(unchecked((int)firstImageId * 31 + count));
        var rows = new ImageRow[count];
        for (int i = 0; i < count; i++)
        {
            long id = firstImageId + i;
            int boxCount = (int)(id % 4);
            var boxes = new BoxRow[boxCount];
            for (int b = 0; b < boxCount; b++)
                boxes[b] = new BoxRow(b * 10.5f, b * 3.25f, 20f + b, 30f + b, 0.125f * (b + 1));
            byte[]? image = id % 7 == 3 ? null : new byte[imageBytes + (int)(id % 50)];
            if (image is not null)
                random.NextBytes(image);
            float[]? embedding = id % 5 == 4 ? null : new float[embeddingLength];
            if (embedding is not null)
                for (int e = 0; e < embedding.Length; e++)
                    embedding[e] = (float)(random.NextDouble() * 2 - 1);
            rows[i] = new ImageRow(id, $"train_val_images/{supercategory}/Species × {id % 3}/{id:x32}.jpg",
                (int)(id % 100), $"Species × {id % 3}", split, supercategory, 800, 600, 224, 168, image, boxes, embedding);
        }
        return rows;
    }

    public static ErrorRow[] Errors(long firstImageId, int count, int attempt = 1)
    {
        var rows = new ErrorRow[count];
        for (int i = 0; i < count; i++)
            rows[i] = new ErrorRow(firstImageId + i, $"train_val_images/Aves/x/{firstImageId + i:x32}.jpg", "decode",
                "TruncatedJpeg", $"no end-of-image marker in image {firstImageId + i}", "worker-1", attempt);
        return rows;
    }
}

public static class RowAssert
{
    /// <summary>Field-by-field identity, floats compared by their bits (NaN, -0 included).</summary>
    public static void Identical(ImageRow expected, ImageRow actual)
    {
        Assert.Equal(expected.ImageId, actual.ImageId);
        Assert.Equal(expected.FileName, actual.FileName);
        Assert.Equal(expected.CategoryId, actual.CategoryId);
        Assert.Equal(expected.Species, actual.Species);
        Assert.Equal(expected.Split, actual.Split);
        Assert.Equal(expected.Supercategory, actual.Supercategory);
        Assert.Equal(expected.Width, actual.Width);
        Assert.Equal(expected.Height, actual.Height);
        Assert.Equal(expected.ResizedWidth, actual.ResizedWidth);
        Assert.Equal(expected.ResizedHeight, actual.ResizedHeight);
        if (expected.Image is null)
            Assert.Null(actual.Image);
        else
            Assert.Equal(expected.Image, actual.Image);
        Assert.Equal(expected.Boxes.Length, actual.Boxes.Length);
        for (int i = 0; i < expected.Boxes.Length; i++)
        {
            BoxRow e = expected.Boxes[i], a = actual.Boxes[i];
            Assert.Equal(Bits(e.X), Bits(a.X));
            Assert.Equal(Bits(e.Y), Bits(a.Y));
            Assert.Equal(Bits(e.W), Bits(a.W));
            Assert.Equal(Bits(e.H), Bits(a.H));
            Assert.Equal(Bits(e.RelativeSize), Bits(a.RelativeSize));
        }
        if (expected.Embedding is null)
        {
            Assert.Null(actual.Embedding);
            return;
        }
        Assert.NotNull(actual.Embedding);
        Assert.Equal(expected.Embedding.Length, actual.Embedding.Length);
        for (int i = 0; i < expected.Embedding.Length; i++)
            Assert.Equal(Bits(expected.Embedding[i]), Bits(actual.Embedding[i]));
    }

    public static void Identical(IReadOnlyList<ImageRow> expected, IReadOnlyList<ImageRow> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
            Identical(expected[i], actual[i]);
    }

    private static int Bits(float value) => BitConverter.SingleToInt32Bits(value);
}

/// <summary>Reads files back through DuckDB, the independent reader.</summary>
public static class DuckDb
{
    public static List<object?[]> Query(string sql)
    {
        using var connection = new DuckDBConnection("DataSource=:memory:");
        connection.Open();
        using DuckDBCommand command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<object?[]>();
        while (reader.Read())
        {
            var row = new object?[reader.FieldCount];
            for (int i = 0; i < row.Length; i++)
                row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            rows.Add(row);
        }
        return rows;
    }

    public static object? Scalar(string sql) => Query(sql)[0][0];

    /// <summary>A path as a SQL string literal.</summary>
    public static string Literal(string path) => "'" + path.Replace("'", "''") + "'";
}

/// <summary>Writes a few partitions of parts as a worker would, for merge tests.</summary>
public static class SampleJob
{
    public static async Task<List<PartCommit>> WritePartsAsync(string outDir, ParquetLayoutOptions? options = null)
    {
        var commits = new List<PartCommit>
        {
            await PartFiles.WriteAttemptAsync(outDir, "train-Aves-00000", 1, SampleRows.For("train", "Aves", 1000, 6), SampleRows.Errors(1006, 1), options),
            await PartFiles.WriteAttemptAsync(outDir, "train-Aves-00001", 1, SampleRows.For("train", "Aves", 2000, 5), [], options),
            await PartFiles.WriteAttemptAsync(outDir, "train-Plantae-00000", 2, SampleRows.For("train", "Plantae", 3000, 4), SampleRows.Errors(3004, 2, 2), options),
            await PartFiles.WriteAttemptAsync(outDir, "val-Aves-00000", 1, SampleRows.For("val", "Aves", 4000, 3), [], options),
            // every image of this partition was quarantined: it commits no image row at all
            await PartFiles.WriteAttemptAsync(outDir, "val-Fungi-00000", 1, [], SampleRows.Errors(5000, 2), options),
        };
        return commits;
    }

    /// <summary>6+5+4+3 = 18 image rows, 1+2+2 = 5 quarantined.</summary>
    public const long OutputRows = 18;
    public const long Quarantined = 5;
    public const long InputImages = OutputRows + Quarantined;

    public static MergeRequest Request(string outDir, IReadOnlyList<PartCommit> commits, long? inputImages = null,
        string job = "job-1", ParquetLayoutOptions? layout = null) =>
        new(outDir, job, "config-abc", "model-sha", inputImages ?? InputImages, commits,
            [
                new HistogramBinRow("train", "Aves", 0.0, 0.1, 7),
                new HistogramBinRow("train", "Aves", 0.1, 0.2, 3),
                new HistogramBinRow("val", "Aves", 0.0, 0.1, 2),
            ],
            [
                new ClassCountRow(12, "Turdus migratorius", "Aves", "train", 11, 15),
                new ClassCountRow(40, "Quercus × bebbiana", "Plantae", "train", 4, 0),
            ])
        {
            Layout = layout ?? ParquetLayoutOptions.Default,
        };
}
