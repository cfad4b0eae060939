using System.Diagnostics;
using System.Globalization;
using Pipeline.Analysis;
using Pipeline.Schema;
using Pipeline.Synth;
using Pipeline.Tests.Storage;

namespace Pipeline.Tests.Analysis;

/// <summary>The examples of docs/training.md run against a dataset the pipeline made (those that can run here).</summary>
[Collection(PipelineDatasetCollection.Name)]
[Trait("Category", "Slow")]
public sealed class TrainingDocsTests(PipelineDatasetFixture data)
{
    private static string RepositoryRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Pipeline.sln")))
                return dir.FullName;
        throw new DirectoryNotFoundException($"no Pipeline.sln above {AppContext.BaseDirectory}");
    }

    private static string Examples => Path.Combine(RepositoryRoot(), "docs", "examples");

    /// <summary>The statements of docs/examples/duckdb.sql, their 'dataset/…' paths pointed at <paramref name="dataset"/>.</summary>
    private static List<string> SqlStatements(string dataset)
    {
        var lines = File.ReadAllLines(Path.Combine(Examples, "duckdb.sql"))
            .Where(l => !l.TrimStart().StartsWith("--", StringComparison.Ordinal));
        string sql = string.Join('\n', lines).Replace("'dataset/", "'" + dataset.Replace("'", "''") + "/", StringComparison.Ordinal);
        return sql.Split(';').Select(s => s.Trim()).Where(s => s.Length > 0).ToList();
    }

    private static long Long(object? value) =>
        value is System.Numerics.BigInteger big ? (long)big : Convert.ToInt64(value, CultureInfo.InvariantCulture);

    [Fact]
    public void DuckDB_example_counts_images_per_split_and_superclass_from_the_hive_folders()
    {
        List<string> statements = SqlStatements(data.Dataset);
        Assert.Equal(7, statements.Count);

        List<object?[]> counts = DuckDb.Query(statements[0]);

        // 13 super-classes in train and in val, each as many images as the corpus has, less the two broken ones
        Assert.Equal(26, counts.Count);
        foreach (object?[] row in counts)
        {
            string split = (string)row[0]!, super = (string)row[1]!;
            SuperClassSummary corpus = data.Summary.SuperClasses.Single(s => s.Name == super);
            long expected = split == "train" ? corpus.TrainImages : corpus.ValImages;
            if (split == "train" && super == "Aves") expected -= data.BrokenFiles.Count;
            Assert.Equal(expected, Long(row[2]));
        }
        Assert.Equal(data.Summary.TrainImages + data.Summary.ValImages - 2, counts.Sum(r => Long(r[2])));
    }

    [Fact]
    public async Task DuckDB_examples_all_run_and_agree_with_the_readers()
    {
        List<string> statements = SqlStatements(data.Dataset);
        List<List<object?[]>> results = statements.Select(DuckDb.Query).ToList();

        // Figure 2's per-species counts add up to the train split
        Assert.Equal(data.Summary.TrainImages - 2, results[1].Sum(r => Long(r[3])));
        // the SQL label numbering is DatasetReader's
        DatasetClasses classes = await DatasetClasses.ReadAsync(DatasetFolder.Open(data.Dataset));
        Assert.Equal(classes.Classes.Select(c => (long)c.CategoryId), results[2].Select(r => Long(r[0])));
        Assert.Equal(classes.Classes.Select(c => (long)c.Label), results[2].Select(r => Long(r[3])));
        // the Aves val embeddings are the model's 512 floats
        Assert.Equal(data.Summary.SuperClasses.Single(s => s.Name == "Aves").ValImages, results[3].Count);
        Assert.All(results[3], r => Assert.Equal(512, ((System.Collections.IList)r[2]!).Count));
        // one row per box; histogram bins hold the same boxes
        long boxes = Long(DuckDb.Scalar($"SELECT sum(len(boxes)) FROM read_parquet({DuckDb.Literal(Path.Combine(data.Dataset, "images", "**", "*.parquet"))})"));
        Assert.Equal(boxes, results[4].Count);
        Assert.Equal(boxes, results[5].Sum(r => Long(r[3])));
        // the two broken JPEGs, quarantined at decode
        Assert.Equal(2, results[6].Sum(r => Long(r[2])));
        Assert.All(results[6], r => Assert.Equal("decode", r[0]));
    }

    [Fact]
    public async Task Python_examples_compile()
    {
        string[] scripts = Directory.GetFiles(Examples, "*.py");
        Assert.Equal(4, scripts.Length);
        string? python = FindOnPath("python3");
        // every script compiles; webdataset_torch.py also runs (WebDatasetExportTests), the pyarrow ones need PyPI
        Assert.True(python is not null, "python3 is needed to syntax-check docs/examples/*.py");
        string cache = Path.Combine(data.Root, "pycache");
        var info = new ProcessStartInfo(python!) { RedirectStandardError = true, RedirectStandardOutput = true };
        info.Environment["PYTHONPYCACHEPREFIX"] = cache; // keep the source tree clean
        info.ArgumentList.Add("-m");
        info.ArgumentList.Add("py_compile");
        foreach (string script in scripts) info.ArgumentList.Add(script);
        using Process process = Process.Start(info)!;
        string errors = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, errors);
    }

    private static string? FindOnPath(string name)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }
}

/// <summary>DatasetReader on the pipeline-made dataset, checked against the storage team's full-row reader.</summary>
[Trait("Category", "Slow")]
[Collection(PipelineDatasetCollection.Name)]
public sealed class PipelineDatasetReaderTests(PipelineDatasetFixture data)
{
    [Fact]
    public async Task Shuffled_batches_carry_the_same_embedding_and_label_as_the_stored_row()
    {
        var stored = new Dictionary<long, ImageRow>();
        foreach (DatasetImageFile file in DatasetFolder.Open(data.Dataset).ImageFiles)
        {
            await using var part = await Pipeline.Storage.ImagePartReader.OpenAsync(file.Path);
            await foreach (var row in part.ReadAllAsync()) stored.Add(row.ImageId, row);
        }
        DatasetReader reader = await DatasetReader.OpenAsync(data.Dataset, new DatasetReaderOptions { BatchSize = 50, Seed = 9, PixelSize = 32 });

        int rows = 0;
        await foreach (TrainingBatch batch in reader.ReadBatchesAsync())
        {
            using (batch)
            {
                Assert.Equal(512, batch.EmbeddingDimension);
                for (int i = 0; i < batch.Count; i++, rows++)
                {
                    var row = stored[batch.ImageIds[i]];
                    Assert.Equal(row.CategoryId, reader.Classes.Classes[batch.Labels[i]].CategoryId);
                    Assert.Equal(row.Split, batch.Splits[i]);
                    Assert.Equal(row.Supercategory, batch.Supercategories[i]);
                    Assert.True(batch.EmbeddingOf(i).SequenceEqual(row.Embedding), $"image {row.ImageId}: embedding differs");
                    Assert.Equal(row.Boxes, batch.Boxes![i]);
                    // the stored 48 px copy decodes to a 32 px crop with picture in it, boxes inside the crop
                    ReadOnlySpan<byte> pixels = batch.PixelsOf(i);
                    int min = 255, max = 0;
                    foreach (byte p in pixels) { min = Math.Min(min, p); max = Math.Max(max, p); }
                    Assert.True(max - min > 40, $"image {row.ImageId}: flat crop {min}..{max}");
                    Assert.All(batch.PixelBoxes![i], b => Assert.True(b.X >= 0 && b.Y >= 0 && b.X + b.W <= 32.001f && b.Y + b.H <= 32.001f));
                }
            }
        }
        Assert.Equal(stored.Count, rows);
        Assert.Equal(data.Summary.TrainImages + data.Summary.ValImages - 2, rows);
    }
}
