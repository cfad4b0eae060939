using System.Buffers.Binary;
using System.Formats.Tar;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Pipeline.Schema;
using Pipeline.Storage;

namespace Pipeline.Analysis;

/// <summary>What <see cref="WebDatasetExport"/> writes and how large its shards grow.</summary>
public sealed record WebDatasetExportOptions
{
    public const double DefaultShardMegabytes = 256;

    /// <summary>A shard is closed before a sample would take it past this size (a single larger sample gets a shard of its own).</summary>
    public double ShardMegabytes { get; init; } = DefaultShardMegabytes;

    public void Validate()
    {
        if (double.IsNaN(ShardMegabytes) || ShardMegabytes < 0.01 || ShardMegabytes > 65536)
            throw new ArgumentOutOfRangeException(nameof(ShardMegabytes), ShardMegabytes, "shard size must be 0.01..65536 MB");
    }
}

/// <summary>One tar shard of an export, as its manifest lists it.</summary>
public sealed record WebDatasetShard(
    [property: JsonPropertyName("path")] string Path,
    [property: JsonPropertyName("split")] string Split,
    [property: JsonPropertyName("supercategory")] string Supercategory,
    [property: JsonPropertyName("samples")] long Samples,
    [property: JsonPropertyName("bytes")] long Bytes,
    [property: JsonPropertyName("sha256")] string Sha256);

/// <summary>A class of the export: <c>label</c> is the contiguous index a training loop uses.</summary>
public sealed record WebDatasetClass(
    [property: JsonPropertyName("label")] int Label,
    [property: JsonPropertyName("category_id")] int CategoryId,
    [property: JsonPropertyName("species")] string Species,
    [property: JsonPropertyName("supercategory")] string Supercategory);

/// <summary><c>manifest.json</c> of an export folder, written last: its presence means every shard is complete.</summary>
public sealed record WebDatasetManifest(
    [property: JsonPropertyName("format")] string Format,
    [property: JsonPropertyName("dataset")] string Dataset,
    [property: JsonPropertyName("dataset_manifest_sha256")] string? DatasetManifestSha256,
    [property: JsonPropertyName("samples")] long Samples,
    [property: JsonPropertyName("with_image")] long WithImage,
    [property: JsonPropertyName("with_embedding")] long WithEmbedding,
    [property: JsonPropertyName("embedding_dimension")] int? EmbeddingDimension,
    [property: JsonPropertyName("shard_megabytes")] double ShardMegabytes,
    [property: JsonPropertyName("sample_files")] IReadOnlyDictionary<string, string> SampleFiles,
    [property: JsonPropertyName("classes")] IReadOnlyList<WebDatasetClass> Classes,
    [property: JsonPropertyName("shards")] IReadOnlyList<WebDatasetShard> Shards)
{
    public const string FileName = "manifest.json";
    public const string FormatName = "webdataset";

    public static readonly JsonSerializerOptions Json = new() { WriteIndented = true };
}

/// <summary>
/// Writes a finished dataset as WebDataset tar shards (the layout img2dataset and Ray Data write, read with nothing but
/// tarfile, PIL and numpy): one sample per image row, its files sharing a key, <c>KEY.jpg</c> (the stored copy, when
/// the job stored one), <c>KEY.json</c> (labels, boxes, sizes) and <c>KEY.npy</c> (the embedding, float32). Shards are
/// keyed by split and super-class, <c>OUT/split=S/supercategory=C/shard-NNNNNN.tar</c>; <c>OUT/manifest.json</c>, written
/// last, lists them with samples, bytes and sha256. Memory: one Parquet row group and one sample at a time.
/// </summary>
public static class WebDatasetExport
{
    public static async Task<WebDatasetManifest> WriteAsync(string datasetDir, string outDir, WebDatasetExportOptions options,
        IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        options.Validate();
        DatasetFolder dataset = DatasetFolder.Open(datasetDir);
        if (!dataset.IsComplete)
            throw new InvalidDataException($"{datasetDir} has no {DatasetMerger.SuccessFile}: the job has not finished; rerun it, then export");
        DatasetClasses classes = await DatasetClasses.ReadAsync(dataset, cancellationToken).ConfigureAwait(false);
        string root = PrepareOutput(outDir, dataset.Root);

        long limit = (long)(options.ShardMegabytes * 1024 * 1024);
        var shards = new List<WebDatasetShard>();
        long samples = 0, withImage = 0, withEmbedding = 0;
        int? dimension = null;
        foreach (var group in dataset.ImageFiles.GroupBy(f => (f.Split, f.Supercategory)))
        {
            string folder = Path.Combine(root, $"split={group.Key.Split}", $"supercategory={group.Key.Supercategory}");
            Directory.CreateDirectory(folder);
            ShardWriter? shard = null;
            try
            {
                foreach (DatasetImageFile file in group)
                {
                    await using ImagePartReader reader = await ImagePartReader.OpenAsync(file.Path, cancellationToken).ConfigureAwait(false);
                    for (int g = 0; g < reader.RowGroupCount; g++)
                    {
                        foreach (ImageRow row in await reader.ReadRowGroupAsync(g, cancellationToken).ConfigureAwait(false))
                        {
                            cancellationToken.ThrowIfCancellationRequested();
                            var sample = Sample(row, group.Key.Split, group.Key.Supercategory, classes);
                            if (shard is not null && shard.Samples > 0 && shard.Bytes + sample.Bytes > limit)
                            {
                                shards.Add(await shard.CloseAsync(root).ConfigureAwait(false));
                                shard = null;
                            }
                            shard ??= ShardWriter.Open(folder, shards.Count(s => s.Split == group.Key.Split && s.Supercategory == group.Key.Supercategory),
                                group.Key.Split, group.Key.Supercategory);
                            shard.Add(sample);
                            samples++;
                            if (row.Image is not null) withImage++;
                            if (row.Embedding is { } embedding)
                            {
                                withEmbedding++;
                                dimension ??= embedding.Length;
                            }
                            progress?.Report(samples);
                        }
                    }
                }
                if (shard is not null) shards.Add(await shard.CloseAsync(root).ConfigureAwait(false));
                shard = null;
            }
            finally
            {
                shard?.Abandon();
            }
        }

        var manifest = new WebDatasetManifest(WebDatasetManifest.FormatName, dataset.Root,
            File.Exists(dataset.ManifestPath) ? Sha256Of(dataset.ManifestPath) : null,
            samples, withImage, withEmbedding, dimension, options.ShardMegabytes,
            new Dictionary<string, string>
            {
                ["jpg"] = "the stored JPEG copy (jobs run with --store-images; absent otherwise)",
                ["json"] = "image_id, file_name, category_id, label, species, supercategory, split, width, height, resized_width, resized_height, boxes [{x, y, w, h, relative_size}] in the resized image's pixels",
                ["npy"] = "the embedding, float32 (absent for jobs run with --model none)",
            },
            classes.Classes.Select(c => new WebDatasetClass(c.Label, c.CategoryId, c.Species, c.Supercategory)).ToList(),
            shards);
        string manifestPath = Path.Combine(root, WebDatasetManifest.FileName);
        await DurableFiles.WriteAllBytesAsync(manifestPath, JsonSerializer.SerializeToUtf8Bytes(manifest, WebDatasetManifest.Json), cancellationToken).ConfigureAwait(false);
        return manifest;
    }

    /// <summary>
    /// The export folder: new, empty, or a previous export (whose listed shards, and only those, are deleted). Never the
    /// dataset itself or a folder inside it.
    /// </summary>
    private static string PrepareOutput(string outDir, string datasetRoot)
    {
        string root = Path.GetFullPath(outDir);
        string relative = Path.GetRelativePath(datasetRoot, root);
        if (relative == "." || (!relative.StartsWith("..", StringComparison.Ordinal) && !Path.IsPathRooted(relative)))
            throw new InvalidDataException($"--out {outDir} is inside the dataset; the dataset holds only what the merge wrote: choose a folder outside it");
        if (!Directory.Exists(root) || !Directory.EnumerateFileSystemEntries(root).Any())
        {
            Directory.CreateDirectory(root);
            return root;
        }
        string previous = Path.Combine(root, WebDatasetManifest.FileName);
        if (!File.Exists(previous))
            throw new InvalidDataException($"--out {outDir} exists and is not an export folder (no {WebDatasetManifest.FileName}): choose a new or empty folder");
        var old = JsonSerializer.Deserialize<WebDatasetManifest>(File.ReadAllText(previous), WebDatasetManifest.Json)
                  ?? throw new InvalidDataException($"{previous} is empty");
        File.Delete(previous);
        foreach (WebDatasetShard shard in old.Shards)
        {
            string path = Path.GetFullPath(Path.Combine(root, shard.Path));
            if (path.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal)) File.Delete(path);
        }
        return root;
    }

    private sealed record SampleFiles(string Key, byte[]? Jpeg, byte[] Json, byte[]? Npy)
    {
        // tar pads every member to 512 bytes behind a 512-byte header
        public long Bytes => Member(Jpeg?.Length) + Member(Json.Length) + Member(Npy?.Length);

        private static long Member(int? length) => length is { } n ? 512 + (n + 511) / 512 * 512 : 0;
    }

    private static SampleFiles Sample(ImageRow row, string split, string supercategory, DatasetClasses classes)
    {
        var json = new Dictionary<string, object?>
        {
            ["image_id"] = row.ImageId,
            ["file_name"] = row.FileName,
            ["category_id"] = row.CategoryId,
            ["label"] = classes.TryGetLabel(row.CategoryId, out int label) ? label : -1,
            ["species"] = row.Species,
            ["supercategory"] = supercategory,
            ["split"] = split,
            ["width"] = row.Width,
            ["height"] = row.Height,
            ["resized_width"] = row.ResizedWidth,
            ["resized_height"] = row.ResizedHeight,
            ["boxes"] = row.Boxes.Select(b => new { x = b.X, y = b.Y, w = b.W, h = b.H, relative_size = b.RelativeSize }).ToArray(),
        };
        // WebDataset's key is the name up to the first dot: the image id, zero-padded so shards list in id order
        string key = row.ImageId.ToString("D12", CultureInfo.InvariantCulture);
        return new SampleFiles(key, row.Image, JsonSerializer.SerializeToUtf8Bytes(json), row.Embedding is { } e ? Npy(e) : null);
    }

    /// <summary>A 1-D float32 array in NumPy's .npy format 1.0 (little-endian; header padded to 64 bytes).</summary>
    internal static byte[] Npy(ReadOnlySpan<float> values)
    {
        string dict = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({values.Length.ToString(CultureInfo.InvariantCulture)},), }}";
        int headerLength = 10 + dict.Length + 1;
        int padded = (headerLength + 63) / 64 * 64;
        var bytes = new byte[padded + values.Length * sizeof(float)];
        bytes[0] = 0x93; // the magic string: \x93NUMPY (a u8 literal would encode \x93 as two UTF-8 bytes)
        "NUMPY"u8.CopyTo(bytes.AsSpan(1));
        bytes[6] = 1;
        bytes[7] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)(padded - 10));
        Encoding.ASCII.GetBytes(dict).CopyTo(bytes, 10);
        bytes.AsSpan(10 + dict.Length, padded - 10 - dict.Length - 1).Fill((byte)' ');
        bytes[padded - 1] = (byte)'\n';
        for (int i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(padded + i * sizeof(float)), values[i]);
        return bytes;
    }

    private static string Sha256Of(string path)
    {
        using FileStream stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>One shard being written under a temporary name; renamed into place when closed.</summary>
    private sealed class ShardWriter
    {
        private readonly FileStream _stream;
        private readonly TarWriter _tar;
        private readonly string _path;
        private readonly string _temporaryPath;
        private readonly string _split;
        private readonly string _supercategory;

        private ShardWriter(string path, string split, string supercategory)
        {
            _path = path;
            _split = split;
            _supercategory = supercategory;
            _temporaryPath = DurableFiles.TemporaryPathFor(path);
            _stream = new FileStream(_temporaryPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16);
            _tar = new TarWriter(_stream, TarEntryFormat.Ustar, leaveOpen: true);
        }

        public long Samples { get; private set; }
        public long Bytes { get; private set; }

        public static ShardWriter Open(string folder, int index, string split, string supercategory) =>
            new(Path.Combine(folder, $"shard-{index.ToString("D6", CultureInfo.InvariantCulture)}.tar"), split, supercategory);

        public void Add(SampleFiles sample)
        {
            if (sample.Jpeg is { } jpeg) Write(sample.Key + ".jpg", jpeg);
            Write(sample.Key + ".json", sample.Json);
            if (sample.Npy is { } npy) Write(sample.Key + ".npy", npy);
            Samples++;
            Bytes += sample.Bytes;
        }

        private void Write(string name, byte[] data)
        {
            var entry = new UstarTarEntry(TarEntryType.RegularFile, name)
            {
                DataStream = new MemoryStream(data, writable: false),
                Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
                ModificationTime = DateTimeOffset.UnixEpoch, // the same dataset gives the same bytes
            };
            _tar.WriteEntry(entry);
        }

        public async Task<WebDatasetShard> CloseAsync(string root)
        {
            await _tar.DisposeAsync().ConfigureAwait(false);
            await _stream.FlushAsync().ConfigureAwait(false);
            _stream.Flush(flushToDisk: true);
            _stream.Position = 0;
            string sha = Convert.ToHexStringLower(await SHA256.HashDataAsync(_stream).ConfigureAwait(false));
            long bytes = _stream.Length;
            await _stream.DisposeAsync().ConfigureAwait(false);
            DurableFiles.MoveIntoPlace(_temporaryPath, _path, replace: true);
            return new WebDatasetShard(Path.GetRelativePath(root, _path).Replace('\\', '/'), _split, _supercategory, Samples, bytes, sha);
        }

        public void Abandon()
        {
            _tar.Dispose();
            _stream.Dispose();
            DurableFiles.TryDelete(_temporaryPath);
        }
    }
}
