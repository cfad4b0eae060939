using System.Diagnostics;
using System.Globalization;
using Pipeline.Schema;

namespace Pipeline.Storage;

/// <summary>
/// What to merge: the RECORDED commits (one per partition; other attempts lying in <c>parts/</c> are ignored), the
/// number of input images the job planned, the statistics rows, and what identifies the job.
/// </summary>
public sealed record MergeRequest(
    string OutDir,
    string JobId,
    string ConfigHash,
    string? ModelSha256,
    long ExpectedInputImages,
    IReadOnlyList<PartCommit> Commits,
    IReadOnlyList<HistogramBinRow> Histograms,
    IReadOnlyList<ClassCountRow> ClassCounts)
{
    public ParquetLayoutOptions Layout { get; init; } = ParquetLayoutOptions.Default;
}

/// <summary>The published dataset; <see cref="ReusedExisting"/> when an identical merge had already completed.</summary>
public sealed record MergeResult(
    string DatasetPath,
    IReadOnlyList<DatasetFileEntry> Files,
    long InputImages,
    long OutputRows,
    long QuarantinedRows,
    TimeSpan Elapsed,
    bool ReusedExisting);

/// <summary>
/// Compacts the recorded parts into <c>OUT/dataset</c>: hive folders per (split, supercategory) in a deterministic
/// order (by split, supercategory, partition id, then file order), the statistics and quarantine files,
/// <c>_manifest.json</c> and, last, <c>_SUCCESS</c>. It is built in <c>OUT/dataset.tmp-&lt;guid&gt;</c> and renamed into place,
/// so a crash never leaves a dataset that looks complete; a rerun of the same merge returns the existing dataset.
/// Memory: one input row group plus one output row group, and a set of the image ids seen (8 bytes-ish each).
/// </summary>
public static class DatasetMerger
{
    public const string DatasetFolder = "dataset";
    public const string ImagesFolder = "images";
    public const string HistogramsFile = "box_size_histograms.parquet";
    public const string ClassCountsFile = "class_counts.parquet";
    public const string ErrorsFile = "errors.parquet";
    public const string ManifestFile = "_manifest.json";
    public const string SuccessFile = "_SUCCESS";
    private const string BuildPrefix = DatasetFolder + ".tmp-";
    private const string RetiredPrefix = DatasetFolder + ".old-";

    /// <summary>Blocking form of <see cref="MergeAsync"/>.</summary>
    public static MergeResult Merge(MergeRequest request) =>
        Task.Run(() => MergeAsync(request)).GetAwaiter().GetResult();

    public static async Task<MergeResult> MergeAsync(MergeRequest request, CancellationToken cancellationToken = default)
    {
        var stopwatch = Stopwatch.StartNew();
        PartCommit[] commits = ValidateAndSort(request);
        string outDir = Path.GetFullPath(request.OutDir);
        string datasetDir = Path.Combine(outDir, DatasetFolder);

        MergeResult? existing = await TryReuseExistingAsync(request, commits, datasetDir, cancellationToken).ConfigureAwait(false);
        if (existing is not null)
            return existing with { Elapsed = stopwatch.Elapsed };

        RemoveAbandonedBuilds(outDir);
        await VerifyRecordedPartsAsync(outDir, commits, cancellationToken).ConfigureAwait(false);
        CheckRecordedTotals(request, commits);

        string buildDir = Path.Combine(outDir, BuildPrefix + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(buildDir);
        try
        {
            var files = new List<DatasetFileEntry>();
            var seenImageIds = new HashSet<long>();
            long outputRows = await WriteImagesAsync(request, outDir, buildDir, commits, seenImageIds, files, cancellationToken).ConfigureAwait(false);
            long quarantined = await WriteErrorsAsync(request, outDir, buildDir, commits, seenImageIds, outputRows, files, cancellationToken).ConfigureAwait(false);
            if (outputRows + quarantined != request.ExpectedInputImages)
                throw InvariantBroken(request.ExpectedInputImages, outputRows, quarantined, "in the rows read from the parts");
            files.Add(await WriteStatisticsFileAsync(buildDir, HistogramsFile, request.Histograms.Count,
                s => StatisticsFiles.WriteHistogramsAsync(s, SortedHistograms(request.Histograms), request.Layout, cancellationToken),
                cancellationToken).ConfigureAwait(false));
            files.Add(await WriteStatisticsFileAsync(buildDir, ClassCountsFile, request.ClassCounts.Count,
                s => StatisticsFiles.WriteClassCountsAsync(s, SortedClassCounts(request.ClassCounts), request.Layout, cancellationToken),
                cancellationToken).ConfigureAwait(false));
            files.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));

            var manifest = new DatasetManifest(
                DatasetManifest.CurrentFormatVersion, request.JobId, request.ConfigHash, request.ModelSha256,
                DateTimeOffset.UtcNow, new ManifestTotals(request.ExpectedInputImages, outputRows, quarantined),
                files, ManifestParts(commits));
            await DurableFiles.WriteAllBytesAsync(Path.Combine(buildDir, ManifestFile), manifest.ToJsonUtf8(), cancellationToken).ConfigureAwait(false);
            await Failpoints.HitAsync(Failpoints.MergeManifestWritten, cancellationToken).ConfigureAwait(false);
            FsyncFolders(buildDir);
            await DurableFiles.WriteAllBytesAsync(Path.Combine(buildDir, SuccessFile), ReadOnlyMemory<byte>.Empty, cancellationToken).ConfigureAwait(false);

            PublishBuild(outDir, buildDir, datasetDir);
            return new MergeResult(datasetDir, files, request.ExpectedInputImages, outputRows, quarantined,
                stopwatch.Elapsed, ReusedExisting: false);
        }
        catch
        {
            TryDeleteFolder(buildDir);
            throw;
        }
    }

    private static PartCommit[] ValidateAndSort(MergeRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.OutDir);
        ArgumentException.ThrowIfNullOrEmpty(request.JobId);
        ArgumentNullException.ThrowIfNull(request.ConfigHash);
        ArgumentNullException.ThrowIfNull(request.Commits);
        ArgumentNullException.ThrowIfNull(request.Histograms);
        ArgumentNullException.ThrowIfNull(request.ClassCounts);
        ArgumentNullException.ThrowIfNull(request.Layout);
        ArgumentOutOfRangeException.ThrowIfNegative(request.ExpectedInputImages);
        request.Layout.Validate();

        var commits = new PartCommit[request.Commits.Count];
        var partitions = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < commits.Length; i++)
        {
            PartCommit commit = request.Commits[i] ?? throw new ArgumentException($"commit {i} is null", nameof(request));
            // The paths must be the ones this partition and attempt are written to: a commit never points elsewhere.
            if (commit.RowsPath != PartFiles.RowsRelativePath(commit.PartitionId, commit.Attempt)
                || commit.ErrorsPath != PartFiles.ErrorsRelativePath(commit.PartitionId, commit.Attempt))
                throw new ArgumentException($"commit of partition {commit.PartitionId} attempt {commit.Attempt} names foreign paths '{commit.RowsPath}', '{commit.ErrorsPath}'", nameof(request));
            if (commit.Rows < 0 || commit.ErrorRows < 0)
                throw new ArgumentException($"commit of partition {commit.PartitionId} has negative row counts", nameof(request));
            if (!partitions.Add(commit.PartitionId))
                throw new ArgumentException($"partition {commit.PartitionId} has more than one recorded commit; record only the first valid one", nameof(request));
            commits[i] = commit;
        }
        Array.Sort(commits, (a, b) => string.CompareOrdinal(a.PartitionId, b.PartitionId));
        return commits;
    }

    private static async Task<MergeResult?> TryReuseExistingAsync(MergeRequest request, PartCommit[] commits,
        string datasetDir, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        DatasetManifest? manifest = await Task.Run(() => ReadPublished(datasetDir), cancellationToken).ConfigureAwait(false);
        if (manifest is null || manifest.Job != request.JobId || manifest.ConfigHash != request.ConfigHash
            || manifest.ModelSha256 != request.ModelSha256 || manifest.Totals.InputImages != request.ExpectedInputImages
            || !SameParts(manifest.Parts, ManifestParts(commits)))
            return null;
        return new MergeResult(datasetDir, manifest.Files, manifest.Totals.InputImages, manifest.Totals.OutputRows,
            manifest.Totals.Quarantined, TimeSpan.Zero, ReusedExisting: true);
    }

    /// <summary>
    /// The manifest of a published dataset whose files are all there with their recorded sizes, or null (none, not
    /// finished, unreadable, or files deleted since): what a rerun may reuse instead of rebuilding.
    /// </summary>
    public static DatasetManifest? ReadPublished(string datasetDir)
    {
        string manifestPath = Path.Combine(datasetDir, ManifestFile);
        if (!File.Exists(Path.Combine(datasetDir, SuccessFile)) || !File.Exists(manifestPath))
            return null;
        DatasetManifest manifest;
        try
        {
            manifest = DatasetManifest.Parse(File.ReadAllBytes(manifestPath));
        }
        catch (System.Text.Json.JsonException)
        {
            return null; // unreadable: rebuild and replace it
        }
        catch (InvalidDataException)
        {
            return null;
        }
        foreach (DatasetFileEntry file in manifest.Files)
        {
            var info = new FileInfo(PartFiles.Resolve(datasetDir, file.Path));
            if (!info.Exists || info.Length != file.Bytes)
                return null;
        }
        return manifest;
    }

    private static bool SameParts(IReadOnlyList<ManifestPart> a, IReadOnlyList<ManifestPart> b)
    {
        if (a.Count != b.Count)
            return false;
        for (int i = 0; i < a.Count; i++)
            if (a[i] != b[i])
                return false;
        return true;
    }

    private static ManifestPart[] ManifestParts(PartCommit[] commits)
    {
        var parts = new ManifestPart[commits.Length];
        for (int i = 0; i < commits.Length; i++)
        {
            PartCommit c = commits[i];
            parts[i] = new ManifestPart(c.PartitionId, c.Attempt, c.Rows, c.ErrorRows, c.RowsSha256, c.ErrorsSha256);
        }
        return parts;
    }

    /// <summary>Build folders of merges that crashed, and a dataset retired by a swap that crashed: never published.</summary>
    private static void RemoveAbandonedBuilds(string outDir)
    {
        if (!Directory.Exists(outDir))
            return;
        foreach (string folder in Directory.EnumerateDirectories(outDir, DatasetFolder + ".*"))
        {
            string name = Path.GetFileName(folder);
            if (name.StartsWith(BuildPrefix, StringComparison.Ordinal) || name.StartsWith(RetiredPrefix, StringComparison.Ordinal))
                TryDeleteFolder(folder);
        }
    }

    private static async Task VerifyRecordedPartsAsync(string outDir, PartCommit[] commits, CancellationToken cancellationToken)
    {
        foreach (PartCommit commit in commits)
        {
            await VerifyFileAsync(commit, PartFiles.Resolve(outDir, commit.RowsPath), commit.RowsBytes, commit.RowsSha256, cancellationToken).ConfigureAwait(false);
            await VerifyFileAsync(commit, PartFiles.Resolve(outDir, commit.ErrorsPath), commit.ErrorsBytes, commit.ErrorsSha256, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task VerifyFileAsync(PartCommit commit, string path, long bytes, string sha256, CancellationToken cancellationToken)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
            throw new CorruptPartException(commit.PartitionId, commit.Attempt, path, sha256, null, "is missing");
        if (info.Length != bytes)
            throw new CorruptPartException(commit.PartitionId, commit.Attempt, path, sha256, null,
                $"has {info.Length} bytes, not the {bytes} recorded");
        string actual = await DurableFiles.Sha256HexAsync(path, cancellationToken).ConfigureAwait(false);
        if (!string.Equals(actual, sha256, StringComparison.OrdinalIgnoreCase))
            throw new CorruptPartException(commit.PartitionId, commit.Attempt, path, sha256, actual, "does not match its recorded sha256");
    }

    /// <summary>Fails before anything is written when the commits themselves cannot add up to the input.</summary>
    private static void CheckRecordedTotals(MergeRequest request, PartCommit[] commits)
    {
        long rows = 0, errors = 0;
        foreach (PartCommit commit in commits)
        {
            rows += commit.Rows;
            errors += commit.ErrorRows;
        }
        if (rows + errors != request.ExpectedInputImages)
            throw InvariantBroken(request.ExpectedInputImages, rows, errors, $"in the {commits.Length} recorded commits");
    }

    private static MergeInvariantException InvariantBroken(long input, long output, long quarantined, string where) =>
        new($"input images ({input}) != output rows ({output}) + quarantined rows ({quarantined}) {where}: "
            + $"{input - output - quarantined} images unaccounted for; no _SUCCESS written", input, output, quarantined);

    private static async Task<long> WriteImagesAsync(MergeRequest request, string outDir, string buildDir,
        PartCommit[] commits, HashSet<long> seenImageIds, List<DatasetFileEntry> files, CancellationToken cancellationToken)
    {
        // Footers first (cheap): each part's (split, supercategory) and row count, to write one hive folder at a time.
        var groups = new SortedDictionary<(string Split, string Supercategory), List<PartCommit>>(PartitionKeyComparer.Instance);
        foreach (PartCommit commit in commits)
        {
            string path = PartFiles.Resolve(outDir, commit.RowsPath);
            await using ImagePartReader part = await ImagePartReader.OpenAsync(path, cancellationToken).ConfigureAwait(false);
            CheckPartIdentity(commit, part.CustomMetadata, path);
            if (part.RowCount != commit.Rows)
                throw new MergeInvariantException(
                    $"part {commit.PartitionId} attempt {commit.Attempt} holds {part.RowCount} rows but its commit recorded {commit.Rows}",
                    request.ExpectedInputImages, part.RowCount, commit.ErrorRows);
            if (part.RowCount == 0)
                continue;
            if (!part.CustomMetadata.TryGetValue(PartFiles.SplitKey, out string? split)
                || !part.CustomMetadata.TryGetValue(PartFiles.SupercategoryKey, out string? supercategory))
                throw new InvalidDataException($"{path}: a part with rows has no split/supercategory in its footer");
            if (!groups.TryGetValue((split, supercategory), out List<PartCommit>? members))
                groups[(split, supercategory)] = members = [];
            members.Add(commit); // commits are sorted by partition id, so each group is too
        }

        long outputRows = 0;
        foreach (KeyValuePair<(string Split, string Supercategory), List<PartCommit>> group in groups)
        {
            await using var writer = new HivePartitionWriter(buildDir, group.Key.Split, group.Key.Supercategory, request.Layout);
            foreach (PartCommit commit in group.Value)
            {
                await using ImagePartReader part = await ImagePartReader.OpenAsync(
                    PartFiles.Resolve(outDir, commit.RowsPath), cancellationToken).ConfigureAwait(false);
                for (int g = 0; g < part.RowGroupCount; g++)
                {
                    ImageRow[] rows = await part.ReadRowGroupAsync(g, cancellationToken).ConfigureAwait(false);
                    for (int i = 0; i < rows.Length; i++)
                    {
                        if (!seenImageIds.Add(rows[i].ImageId))
                            throw new MergeInvariantException(
                                $"image {rows[i].ImageId} appears twice (again in partition {commit.PartitionId}); an image belongs to one partition",
                                request.ExpectedInputImages, outputRows, 0);
                        await writer.WriteAsync(rows[i], cancellationToken).ConfigureAwait(false);
                    }
                    outputRows += rows.Length;
                }
            }
            files.AddRange(await writer.CompleteAsync(cancellationToken).ConfigureAwait(false));
        }
        return outputRows;
    }

    private static void CheckPartIdentity(PartCommit commit, IReadOnlyDictionary<string, string> metadata, string path)
    {
        string attempt = commit.Attempt.ToString(CultureInfo.InvariantCulture);
        if (!metadata.TryGetValue(PartFiles.PartitionKey, out string? partition) || partition != commit.PartitionId
            || !metadata.TryGetValue(PartFiles.AttemptKey, out string? written) || written != attempt)
            throw new InvalidDataException($"{path}: its footer does not name partition {commit.PartitionId} attempt {attempt}");
    }

    private static async Task<long> WriteErrorsAsync(MergeRequest request, string outDir, string buildDir,
        PartCommit[] commits, HashSet<long> seenImageIds, long outputRows, List<DatasetFileEntry> files,
        CancellationToken cancellationToken)
    {
        string path = Path.Combine(buildDir, ErrorsFile);
        long quarantined = 0;
        await using (Sha256WriteStream stream = Sha256WriteStream.CreateNew(path))
        {
            await using (ErrorRowWriter writer = await ErrorRowWriter.CreateAsync(stream, request.Layout, leaveOpen: true,
                cancellationToken).ConfigureAwait(false))
            {
                foreach (PartCommit commit in commits)
                {
                    await using ErrorRowReader part = await ErrorRowReader.OpenAsync(
                        PartFiles.Resolve(outDir, commit.ErrorsPath), cancellationToken).ConfigureAwait(false);
                    if (part.RowCount != commit.ErrorRows)
                        throw new MergeInvariantException(
                            $"quarantine file of partition {commit.PartitionId} attempt {commit.Attempt} holds {part.RowCount} rows but its commit recorded {commit.ErrorRows}",
                            request.ExpectedInputImages, outputRows, part.RowCount);
                    for (int g = 0; g < part.RowGroupCount; g++)
                    {
                        ErrorRow[] rows = await part.ReadRowGroupAsync(g, cancellationToken).ConfigureAwait(false);
                        for (int i = 0; i < rows.Length; i++)
                        {
                            if (!seenImageIds.Add(rows[i].ImageId))
                                throw new MergeInvariantException(
                                    $"image {rows[i].ImageId} is quarantined in partition {commit.PartitionId} but also has an output row or another quarantine row",
                                    request.ExpectedInputImages, outputRows, quarantined);
                            await writer.WriteAsync(rows[i], cancellationToken).ConfigureAwait(false);
                        }
                        quarantined += rows.Length;
                    }
                }
                await writer.CompleteAsync(null, cancellationToken).ConfigureAwait(false);
            }
            files.Add(new DatasetFileEntry(ErrorsFile, quarantined, stream.Position, stream.FlushToDiskAndHash()));
        }
        return quarantined;
    }

    private static async Task<DatasetFileEntry> WriteStatisticsFileAsync(string buildDir, string name, long rows,
        Func<Stream, Task> write, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        await using Sha256WriteStream stream = Sha256WriteStream.CreateNew(Path.Combine(buildDir, name));
        await write(stream).ConfigureAwait(false);
        return new DatasetFileEntry(name, rows, stream.Position, stream.FlushToDiskAndHash());
    }

    private static List<HistogramBinRow> SortedHistograms(IReadOnlyList<HistogramBinRow> bins)
    {
        var sorted = new List<HistogramBinRow>(bins);
        sorted.Sort((a, b) =>
        {
            int c = string.CompareOrdinal(a.Split, b.Split);
            if (c == 0) c = string.CompareOrdinal(a.Supercategory, b.Supercategory);
            if (c == 0) c = a.BinLo.CompareTo(b.BinLo);
            return c != 0 ? c : a.BinHi.CompareTo(b.BinHi);
        });
        return sorted;
    }

    private static List<ClassCountRow> SortedClassCounts(IReadOnlyList<ClassCountRow> classes)
    {
        var sorted = new List<ClassCountRow>(classes);
        sorted.Sort((a, b) =>
        {
            int c = string.CompareOrdinal(a.Split, b.Split);
            return c != 0 ? c : a.CategoryId.CompareTo(b.CategoryId);
        });
        return sorted;
    }

    /// <summary>fsyncs every folder of the build, deepest first, so its new entries are durable before the swap.</summary>
    private static void FsyncFolders(string buildDir)
    {
        var folders = new List<string>(Directory.EnumerateDirectories(buildDir, "*", SearchOption.AllDirectories));
        folders.Sort((a, b) => b.Length.CompareTo(a.Length));
        foreach (string folder in folders)
            DurableFiles.FsyncDirectory(folder);
        DurableFiles.FsyncDirectory(buildDir);
    }

    /// <summary>Renames the build into place; an older dataset is first renamed aside, then deleted.</summary>
    private static void PublishBuild(string outDir, string buildDir, string datasetDir)
    {
        string? retired = null;
        if (Directory.Exists(datasetDir))
        {
            retired = Path.Combine(outDir, RetiredPrefix + Guid.NewGuid().ToString("N"));
            Directory.Move(datasetDir, retired);
        }
        Directory.Move(buildDir, datasetDir);
        DurableFiles.FsyncDirectory(outDir);
        if (retired is not null)
            TryDeleteFolder(retired);
    }

    private static void TryDeleteFolder(string folder)
    {
        try
        {
            if (Directory.Exists(folder))
                Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
            // best effort: a leftover build folder is never published and is removed by the next merge
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private sealed class PartitionKeyComparer : IComparer<(string Split, string Supercategory)>
    {
        public static readonly PartitionKeyComparer Instance = new();

        public int Compare((string Split, string Supercategory) x, (string Split, string Supercategory) y)
        {
            int c = string.CompareOrdinal(x.Split, y.Split);
            return c != 0 ? c : string.CompareOrdinal(x.Supercategory, y.Supercategory);
        }
    }
}
