using System.Text.RegularExpressions;
using Pipeline.Storage;

namespace Pipeline.Jobs;

/// <summary>
/// What of an output folder Pipeline wrote, and so may replace or delete: <c>_pipeline/</c> (lock, job file, plan,
/// journal), <c>parts/</c> (committed attempts), <c>dataset/</c> when it holds a Pipeline manifest, the merge's
/// <c>dataset.tmp-*</c> and <c>dataset.old-*</c> folders, and the demo corpus of <c>pipeline run</c>. Anything else is
/// the user's: a folder holding it is refused unless the user allows it, and it is never deleted.
/// </summary>
public static partial class OutputFolder
{
    public const string DemoCorpusFolder = "demo-corpus";

    /// <summary>Throws, naming what is in the way, when the folder holds files Pipeline did not write.</summary>
    /// <param name="allowForeignFiles">the user said to use the folder anyway (its other files are left alone).</param>
    public static void CheckOwnership(string output, bool allowForeignFiles)
    {
        var paths = new JobPaths(output);
        if (File.Exists(paths.Output)) throw new InvalidDataException($"output {paths.Output} is a file, not a folder");
        if (!Directory.Exists(paths.Output)) return;
        var foreign = new List<string>();
        foreach (var entry in Directory.EnumerateFileSystemEntries(paths.Output))
        {
            var name = Path.GetFileName(entry);
            var isFolder = Directory.Exists(entry);
            if (isFolder && name == PartFiles.PartsFolder)
            {
                if (ForeignPart(entry) is { } part)
                    throw new InvalidDataException($"{entry} holds {part}, which Pipeline did not write; Pipeline replaces parts/ " +
                                                   "only when every file in it is a part it wrote: move it away or choose another --out");
            }
            else if (isFolder && name == DatasetMerger.DatasetFolder)
            {
                if (!IsPipelineDataset(entry))
                    throw new InvalidDataException($"{entry} holds files but no Pipeline manifest ({DatasetMerger.ManifestFile}); Pipeline replaces " +
                                                   "dataset/ only when it wrote it: move it away or choose another --out");
            }
            else if (!IsPipelineEntry(name, isFolder))
            {
                foreign.Add(isFolder ? name + "/" : name);
            }
        }
        if (foreign.Count == 0 || allowForeignFiles) return;
        foreign.Sort(StringComparer.Ordinal);
        throw new InvalidDataException(
            $"output folder {paths.Output} holds {foreign.Count} file(s) or folder(s) Pipeline did not write " +
            $"({string.Join(", ", foreign.Take(5))}{(foreign.Count > 5 ? ", ..." : "")}); choose an empty or new folder, " +
            "or pass --allow-nonempty-out to use it anyway (Pipeline never deletes files it did not write)");
    }

    /// <summary>True when <paramref name="datasetDir"/> is empty or holds a readable Pipeline manifest.</summary>
    public static bool IsPipelineDataset(string datasetDir)
    {
        if (!Directory.EnumerateFileSystemEntries(datasetDir).Any()) return true;
        var manifest = Path.Combine(datasetDir, DatasetMerger.ManifestFile);
        if (!File.Exists(manifest)) return false;
        try
        {
            DatasetManifest.Parse(File.ReadAllBytes(manifest));
            return true;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidDataException)
        {
            return false;
        }
    }

    /// <summary>
    /// Deletes what an earlier job of Pipeline left in the folder (its plan, journal, job file and parts), before
    /// another job starts there. Call only with the folder's lock held and <see cref="CheckOwnership"/> passed.
    /// </summary>
    public static void ClearJobState(JobPaths paths)
    {
        foreach (var folder in new[] { paths.PlanDir, paths.PlanDir + ".tmp", paths.PartsDir })
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        foreach (var file in new[] { paths.JournalFile, paths.JobFile })
            if (File.Exists(file)) File.Delete(file);
    }

    /// <summary>
    /// Makes a rerun redo what the user deleted: a recorded commit whose part files are gone (or not their recorded size)
    /// is dropped from the journal, so its partition is queued again, unless the job's published dataset already holds
    /// it. Attempts handed out stay recorded, so no attempt number is reused. Returns the partitions to redo.
    /// </summary>
    public static IReadOnlyList<string> DropMissingCommits(JobPaths paths, string jobId)
    {
        var entries = CommitJournal.Read(paths.JournalFile);
        if (entries.Count == 0) return [];
        var published = DatasetMerger.ReadPublished(paths.DatasetDir);
        var merged = new HashSet<(string, int)>();
        if (published is not null && published.Job == jobId)
            foreach (var part in published.Parts) merged.Add((part.Partition, part.Attempt));
        var kept = new List<JournalEntry>(entries.Count);
        var redo = new List<string>();
        foreach (var entry in entries)
        {
            if (entry is { Kind: JournalEntry.Committed, Commit: { } commit } && !merged.Contains((entry.PartitionId, entry.Attempt))
                && !(HasSize(paths.Output, commit.Part.RowsPath, commit.Part.RowsBytes) && HasSize(paths.Output, commit.Part.ErrorsPath, commit.Part.ErrorsBytes)))
            {
                redo.Add(entry.PartitionId);
                continue;
            }
            kept.Add(entry);
        }
        if (redo.Count > 0) CommitJournal.Rewrite(paths.JournalFile, kept);
        return redo;
    }

    private static bool HasSize(string output, string relativePath, long bytes)
    {
        var info = new FileInfo(PartFiles.Resolve(output, relativePath));
        return info.Exists && info.Length == bytes;
    }

    private static bool IsPipelineEntry(string name, bool isFolder) =>
        isFolder
            ? name is JobPaths.StateFolder or DemoCorpusFolder or "lost+found"
              || name.StartsWith(DatasetMerger.DatasetFolder + ".tmp-", StringComparison.Ordinal)
              || name.StartsWith(DatasetMerger.DatasetFolder + ".old-", StringComparison.Ordinal)
            : name.StartsWith(".nfs", StringComparison.Ordinal); // NFS keeps deleted-but-open files under such names

    /// <summary>The first entry of parts/ that is not a partition folder of attempt files, or null.</summary>
    private static string? ForeignPart(string partsDir)
    {
        foreach (var folder in Directory.EnumerateFileSystemEntries(partsDir))
        {
            var name = Path.GetFileName(folder);
            if (!Directory.Exists(folder) || !PartitionFolderName().IsMatch(name)) return name;
            foreach (var file in Directory.EnumerateFileSystemEntries(folder))
            {
                var fileName = Path.GetFileName(file);
                if (Directory.Exists(file) || !AttemptFileName().IsMatch(fileName)) return $"{name}/{fileName}";
            }
        }
        return null;
    }

    [GeneratedRegex(@"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$")]
    private static partial Regex PartitionFolderName();

    // attempt-3.parquet, attempt-3.errors.parquet, their temporaries (.attempt-3.parquet.tmp-<guid>) and NFS's .nfs files
    [GeneratedRegex(@"^(\.?attempt-[0-9]+(\.errors)?\.parquet(\.tmp-[0-9a-f]{32})?|\.nfs.*)$")]
    private static partial Regex AttemptFileName();
}
