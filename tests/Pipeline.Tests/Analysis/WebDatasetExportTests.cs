using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Pipeline.Analysis;
using Pipeline.Tests.Cluster;
using Pipeline.Tests.Kubernetes;
using Pipeline.Tests.Storage;

namespace Pipeline.Tests.Analysis;

/// <summary>
/// `pipeline export --format webdataset` on a dataset the pipeline made, read back by docs/examples/webdataset_torch.py
/// under Debian's python3 with python3-torch: the samples, labels and embeddings agree with the Parquet rows (read by
/// DuckDB) row for row.
/// </summary>
[Collection(PipelineDatasetCollection.Name)]
[Trait("Category", "Slow")]
public sealed partial class WebDatasetExportTests(PipelineDatasetFixture data) : IDisposable
{
    private const string Python = "/usr/bin/python3";
    private const string InstallHint = "apt-get install -y python3-torch python3-pil python3-numpy (./test.sh installs them)";

    private readonly string _work = Directory.CreateTempSubdirectory("pipeline-export-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    private string Images => DuckDb.Literal(Path.Combine(data.Dataset, "images", "**", "*.parquet"));

    private async Task<(string Shards, WebDatasetManifest Manifest)> ExportAsync()
    {
        string shards = Path.Combine(_work, "shards");
        using (var export = new NodeProcess("export", "export", "--format", "webdataset", "--dataset", data.Dataset, "--out", shards, "--shard-size", "0.25"))
            Assert.True(await export.WaitForExitAsync(TimeSpan.FromSeconds(120)) == 0, export.Output);
        var manifest = JsonSerializer.Deserialize<WebDatasetManifest>(await File.ReadAllTextAsync(Path.Combine(shards, WebDatasetManifest.FileName)))!;
        return (shards, manifest);
    }

    [Fact]
    public async Task Export_writes_every_row_once_into_shards_keyed_by_split_and_superclass_that_the_manifest_lists()
    {
        var (shards, manifest) = await ExportAsync();
        long rows = Convert.ToInt64(DuckDb.Scalar($"SELECT count(*) FROM read_parquet({Images})"), CultureInfo.InvariantCulture);
        Assert.Equal(rows, manifest.Samples);
        Assert.Equal(rows, manifest.WithEmbedding);
        Assert.Equal(rows, manifest.WithImage); // the fixture stores 48 px copies
        Assert.Equal(512, manifest.EmbeddingDimension);
        var perGroup = DuckDb.Query($"SELECT split, supercategory, count(*) FROM read_parquet({Images}, hive_partitioning=true) GROUP BY ALL")
            .ToDictionary(r => ((string)r[0]!, (string)r[1]!), r => Convert.ToInt64(r[2], CultureInfo.InvariantCulture));
        Assert.Equal(perGroup, manifest.Shards.GroupBy(s => (s.Split, s.Supercategory)).ToDictionary(g => g.Key, g => g.Sum(s => s.Samples)));
        Assert.Contains(manifest.Shards.GroupBy(s => (s.Split, s.Supercategory)), g => g.Count() > 1); // 256 KB shards: some groups split
        foreach (WebDatasetShard shard in manifest.Shards)
        {
            string path = Path.Combine(shards, shard.Path);
            Assert.StartsWith($"split={shard.Split}/supercategory={shard.Supercategory}/shard-", shard.Path);
            Assert.Equal(shard.Bytes, new FileInfo(path).Length);
            Assert.Equal(shard.Sha256, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))));
            // the limit counts members; the tar's end-of-archive blocks (1 KB, padded to 10 KB records) come on top
            Assert.True(shard.Bytes <= 256 * 1024 + 10 * 1024, $"{shard.Path}: {shard.Bytes} bytes over the 256 KB shard size");
        }
        // nothing but the merge's files in the dataset
        Assert.DoesNotContain(Directory.EnumerateFiles(data.Dataset, "*.tar", SearchOption.AllDirectories), _ => true);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task PyTorch_example_reads_batches_whose_labels_and_embeddings_match_the_dataset_row_for_row()
    {
        AssertTorchInstalled();
        var (shards, manifest) = await ExportAsync();
        ReadAndCompare(shards, manifest, "train");
        ReadAndCompare(shards, manifest, "val");
    }

    private void ReadAndCompare(string shards, WebDatasetManifest manifest, string split)
    {
        string dump = Path.Combine(_work, $"{split}.jsonl");
        ProcessResult run = Tool.Run(Python,
            [RepositoryTree.PathOf("docs", "examples", "webdataset_torch.py"), shards, "--split", split, "--batch-size", "16",
             "--batches", "3", "--workers", "2", "--image-size", "32", "--dump", dump],
            timeout: TimeSpan.FromSeconds(180));
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("batch 2: ", run.Stdout);

        // the dataset as DuckDB reads it, and labels numbered by ascending category id as the manifest says
        var rows = DuckDb.Query($"SELECT image_id, category_id, embedding FROM read_parquet({Images}, hive_partitioning=true) WHERE split = '{split}'")
            .ToDictionary(r => Convert.ToInt64(r[0], CultureInfo.InvariantCulture), r => (Category: Convert.ToInt32(r[1], CultureInfo.InvariantCulture), Embedding: (System.Collections.IList)r[2]!));
        var categories = DuckDb.Query($"SELECT DISTINCT category_id FROM {DuckDb.Literal(Path.Combine(data.Dataset, "class_counts.parquet"))} ORDER BY 1")
            .Select(r => Convert.ToInt32(r[0], CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(categories, manifest.Classes.OrderBy(c => c.Label).Select(c => c.CategoryId));

        var samples = File.ReadAllLines(dump).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        // three batches; with two DataLoader workers a batch is short where a worker's shards end
        int read = int.Parse(ReadLine().Match(run.Stdout).Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.Equal(read, samples.Count);
        Assert.InRange(read, 3, 3 * 16);
        Assert.Equal(samples.Count, samples.Select(s => s.GetProperty("image_id").GetInt64()).Distinct().Count());
        foreach (JsonElement sample in samples)
        {
            long id = sample.GetProperty("image_id").GetInt64();
            Assert.True(rows.TryGetValue(id, out var row), $"image {id} is not a {split} row of the dataset");
            Assert.Equal(categories.IndexOf(row.Category), sample.GetProperty("label").GetInt32());
            float[] embedding = sample.GetProperty("embedding").EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();
            Assert.Equal(row.Embedding.Count, embedding.Length);
            for (int i = 0; i < embedding.Length; i++)
                Assert.Equal(Convert.ToSingle(row.Embedding[i], CultureInfo.InvariantCulture), embedding[i]);
            Assert.Equal([3, 32, 32], sample.GetProperty("image_shape").EnumerateArray().Select(v => v.GetInt32()));
        }
    }

    [Fact]
    public void Npy_files_have_numpy_s_magic_and_a_64_byte_aligned_header()
    {
        byte[] npy = WebDatasetExport.Npy([1f, -2.5f, 3f]);
        Assert.Equal([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0], npy[..8]);
        int header = 10 + BitConverter.ToUInt16(npy, 8);
        Assert.Equal(0, header % 64);
        Assert.Equal((byte)'\n', npy[header - 1]);
        Assert.Contains("'shape': (3,)", System.Text.Encoding.ASCII.GetString(npy, 10, header - 10));
        Assert.Equal(-2.5f, BitConverter.ToSingle(npy, header + 4));
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^read (\d+) samples", System.Text.RegularExpressions.RegexOptions.Multiline)]
    private static partial System.Text.RegularExpressions.Regex ReadLine();

    /// <summary>Fails, never skips: the test command installs Debian's torch; a missing one must show.</summary>
    private static void AssertTorchInstalled()
    {
        Assert.True(File.Exists(Python), $"{Python} is needed: {InstallHint}");
        ProcessResult check = Tool.Run(Python, ["-c", "import torch, numpy, PIL"], timeout: TimeSpan.FromSeconds(120));
        Assert.True(check.ExitCode == 0, $"Debian's python3-torch is needed: {InstallHint}\n{check.Output}");
    }
}
