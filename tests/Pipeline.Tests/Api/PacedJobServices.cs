using System.Security.Cryptography;
using Pipeline.Jobs;
using Pipeline.Processing;
using Pipeline.Storage;

namespace Pipeline.Tests.Api;

/// <summary>
/// Job services for API tests: a plan of a known shape, partitions that take a known time per image and write a real part
/// file (the coordinator checks its size and sha256), and a merge that writes _SUCCESS. The cluster, the coordinator and
/// the HTTP API around it are the real ones; only the image work is replaced, so a test controls how long a job runs.
/// </summary>
public sealed class PacedJobServices(int partitions, int imagesPerPartition, TimeSpan perImage) : IJobServices
{
    public const int Bins = 50;
    private static readonly string[] Groups = ["train/Aves", "train/Insecta", "val/Aves", "train/Reptilia", "val/Insecta"];

    public long TotalImages => (long)partitions * imagesPerPartition;

    /// <summary>How long the merge takes (a test cancels or resubmits during it).</summary>
    public TimeSpan MergeTime { get; init; }

    public string Identify(JobSpec spec)
    {
        if (!Directory.Exists(spec.Corpus)) throw new DirectoryNotFoundException($"corpus folder {spec.Corpus} does not exist");
        return JobIdentity.Compute(spec, spec.Corpus, "paced");
    }

    public PreparedJob Prepare(JobSpec spec, CancellationToken cancellation)
    {
        var jobId = Identify(spec);
        var infos = new PartitionInfo[partitions];
        for (var i = 0; i < partitions; i++)
        {
            var group = Groups[i % Groups.Length].Split('/');
            infos[i] = new PartitionInfo($"{group[0]}-{group[1]}-{i:D5}", group[0], group[1], imagesPerPartition, imagesPerPartition * 2);
        }
        var plan = new PartitionPlan(jobId, infos, TotalImages, 3);
        return new PreparedJob(jobId, spec, "paced", plan, new CorpusSummary(TotalImages, 3, new Dictionary<string, long>()));
    }

    public async Task<PartitionOutcome> ExecuteAsync(PartitionWork work, IProgress<int>? progress, CancellationToken cancellation)
    {
        var started = DateTimeOffset.UtcNow;
        for (var i = 1; i <= work.Partition.Images; i++)
        {
            await Task.Delay(perImage, cancellation);
            progress?.Report(i);
        }
        // one quarantined image in every third partition, so quarantine-by-kind has something to show
        var quarantined = work.Partition.Images > 1 && Index(work.Partition.Id) % 3 == 0 ? 1 : 0;
        var kinds = new Dictionary<string, int>();
        if (quarantined > 0) kinds["truncated-jpeg"] = quarantined;
        var rows = await WriteFileAsync(work, PartFiles.RowsRelativePath(work.Partition.Id, work.Attempt), "rows", cancellation);
        var errors = await WriteFileAsync(work, PartFiles.ErrorsRelativePath(work.Partition.Id, work.Attempt), "errors", cancellation);
        var part = new PartCommit(work.Partition.Id, work.Attempt, rows.Path, errors.Path, work.Partition.Images - quarantined, quarantined,
            rows.Bytes, errors.Bytes, rows.Sha256, errors.Sha256);
        return new PartitionOutcome(part, work.Worker, Histogram(work.Partition), [], kinds, 0, (DateTimeOffset.UtcNow - started).TotalSeconds);
    }

    /// <summary>A small file where the part would be; the coordinator checks its size and sha256 like a real part.</summary>
    private static async Task<(string Path, long Bytes, string Sha256)> WriteFileAsync(PartitionWork work, string relative, string kind,
        CancellationToken cancellation)
    {
        var path = PartFiles.Resolve(work.Spec.Output, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var content = System.Text.Encoding.UTF8.GetBytes($"{work.JobId} {work.Partition.Id} {work.Attempt} {kind}\n");
        await File.WriteAllBytesAsync(path, content, cancellation);
        return (relative, content.Length, Convert.ToHexStringLower(SHA256.HashData(content)));
    }

    public MergeSummary Merge(PreparedJob job, IReadOnlyList<PartitionOutcome> commits, CancellationToken cancellation)
    {
        if (MergeTime > TimeSpan.Zero) Thread.Sleep(MergeTime);
        var paths = new JobPaths(job.Spec.Output);
        Directory.CreateDirectory(paths.DatasetDir);
        long rows = 0, quarantined = 0;
        foreach (var commit in commits)
        {
            rows += commit.Rows;
            quarantined += commit.Quarantined;
        }
        // the manifest names the job, as the real merge's does: the coordinator checks it before it says succeeded
        var manifest = new DatasetManifest(DatasetManifest.CurrentFormatVersion, job.JobId, "paced", null, DateTimeOffset.UtcNow,
            new ManifestTotals(job.Plan.Images, rows, quarantined), [], []);
        File.WriteAllBytes(Path.Combine(paths.DatasetDir, DatasetMerger.ManifestFile), manifest.ToJsonUtf8());
        File.WriteAllText(paths.SuccessFile, "");
        return new MergeSummary(paths.DatasetDir, commits.Count, rows, quarantined, 0.01);
    }

    /// <summary>Mostly small boxes, as in the paper's Figure 4; the val split a little larger so the two series differ.</summary>
    private static BoxHistogramData Histogram(PartitionInfo partition)
    {
        var counts = new long[Bins];
        var peak = partition.Split == "val" ? 12 : 7;
        long total = 0;
        for (var b = 0; b < Bins; b++)
        {
            var distance = b - peak;
            counts[b] = Math.Max(0, 40 - distance * distance / (b < peak ? 1 : 4));
            total += counts[b];
        }
        return new BoxHistogramData(counts, total, total * 200_000_000L, 0.01, 0.9);
    }

    private static int Index(string partitionId) => int.Parse(partitionId[(partitionId.LastIndexOf('-') + 1)..]);
}
