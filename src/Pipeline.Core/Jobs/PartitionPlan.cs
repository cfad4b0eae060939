using System.Text.Json;
using Pipeline.Corpus;
using Pipeline.Storage;

namespace Pipeline.Jobs;

/// <summary>One image as a worker needs it: where it is, its label and its boxes. Written in the plan, never in messages.</summary>
public sealed record PlannedImage(
    long Id,
    string FileName,
    int Width,
    int Height,
    int CategoryId,
    string Species,
    double[][] Boxes);

/// <summary>A partition: a deterministic run of images inside one (split, super-class).</summary>
public sealed record PartitionInfo(string Id, string Split, string Supercategory, int Images, int Boxes);

/// <summary>The plan's index; the coordinator keeps this (a few hundred bytes a partition), never the image lists.</summary>
public sealed record PartitionPlan(string JobId, PartitionInfo[] Partitions, long Images, int Categories)
{
    public const string IndexFile = "index.json";
}

/// <summary>
/// Plans a job: streams the corpus once and cuts each (split, super-class) stream into partitions of at most
/// <c>partitionSize</c> images, in corpus file order, writing each partition's image list to the plan folder.
/// Memory: one open partition per (split, super-class) group, so at most 26 x partitionSize images.
/// </summary>
public static class PartitionPlanner
{
    public const string Unlabelled = "unlabelled";

    public static PartitionPlan Plan(
        string jobId,
        IEnumerable<CorpusImage> images,
        IReadOnlyDictionary<int, Category> categories,
        string planDir,
        int partitionSize)
    {
        if (partitionSize < 1) throw new ArgumentOutOfRangeException(nameof(partitionSize), "a partition holds at least one image");
        var partitionsDir = Path.Combine(planDir, "partitions");
        Directory.CreateDirectory(partitionsDir);
        var open = new Dictionary<(string Split, string Super), List<PlannedImage>>();
        var sequence = new Dictionary<(string, string), int>();
        var infos = new List<PartitionInfo>();
        long total = 0;

        void Flush((string Split, string Super) key, List<PlannedImage> batch)
        {
            sequence.TryGetValue(key, out var seq);
            sequence[key] = seq + 1;
            var id = PartitionId(key.Split, key.Super, seq);
            WritePartition(Path.Combine(partitionsDir, id + ".json"), batch);
            var boxes = 0;
            foreach (var image in batch) boxes += image.Boxes.Length;
            infos.Add(new PartitionInfo(id, key.Split, key.Super, batch.Count, boxes));
        }

        foreach (var image in images)
        {
            var hasCategory = categories.TryGetValue(image.CategoryId, out var category);
            var key = (image.Split, hasCategory ? category!.Supercategory : Unlabelled);
            if (!open.TryGetValue(key, out var batch)) open[key] = batch = new List<PlannedImage>(Math.Min(partitionSize, 4096));
            var boxes = new double[image.Boxes.Length][];
            for (var i = 0; i < boxes.Length; i++)
            {
                var b = image.Boxes[i];
                boxes[i] = [b.X, b.Y, b.Width, b.Height];
            }
            batch.Add(new PlannedImage(image.Id, image.FileName, image.Width, image.Height, image.CategoryId,
                hasCategory ? category!.Name : "", boxes));
            total++;
            if (batch.Count >= partitionSize)
            {
                Flush(key, batch);
                batch.Clear();
            }
        }
        foreach (var (key, batch) in open)
            if (batch.Count > 0) Flush(key, batch);

        infos.Sort((a, b) => string.CompareOrdinal(a.Id, b.Id));
        var plan = new PartitionPlan(jobId, infos.ToArray(), total, categories.Count);
        // the partition files' names are durable before the index that lists them
        DurableFiles.FsyncDirectory(partitionsDir);
        DurableFiles.WriteAllBytes(Path.Combine(planDir, PartitionPlan.IndexFile), JsonSerializer.SerializeToUtf8Bytes(plan, JobJson.Compact));
        return plan;
    }

    /// <summary>e.g. <c>train-Aves-00012</c>; super-class names are single words in every iNat release.</summary>
    public static string PartitionId(string split, string supercategory, int sequence) =>
        $"{split}-{Sanitize(supercategory)}-{sequence:D5}";

    public static PartitionPlan? TryLoad(string planDir)
    {
        var path = Path.Combine(planDir, PartitionPlan.IndexFile);
        if (!File.Exists(path)) return null;
        return JsonSerializer.Deserialize<PartitionPlan>(File.ReadAllText(path), JobJson.Compact);
    }

    public static PlannedImage[] LoadPartition(string planDir, string partitionId)
    {
        var path = Path.Combine(planDir, "partitions", partitionId + ".json");
        using var stream = File.OpenRead(path);
        return JsonSerializer.Deserialize<PlannedImage[]>(stream, JobJson.Compact)
               ?? throw new InvalidDataException($"{path}: empty partition file");
    }

    private static void WritePartition(string path, List<PlannedImage> batch) =>
        DurableFiles.WriteAllBytes(path, JsonSerializer.SerializeToUtf8Bytes(batch, JobJson.Compact), fsyncDirectory: false);

    private static string Sanitize(string name)
    {
        Span<char> buffer = stackalloc char[name.Length];
        for (var i = 0; i < name.Length; i++)
            buffer[i] = char.IsAsciiLetterOrDigit(name[i]) ? name[i] : '_';
        return new string(buffer);
    }
}
