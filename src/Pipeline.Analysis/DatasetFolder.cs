using Pipeline.Storage;

namespace Pipeline.Analysis;

/// <summary>One image file of the merged dataset and the hive partition its folders name.</summary>
public sealed record DatasetImageFile(string Path, string Split, string Supercategory);

/// <summary>
/// A merged dataset folder (<c>OUT/dataset</c>, layout in docs/architecture.md) as the analysis commands and training readers see
/// it: where each file is, and the image files with their (split, supercategory). Opening checks the layout and says
/// what is missing rather than failing later on a file path.
/// </summary>
public sealed class DatasetFolder
{
    /// <summary>Probe results that <c>pipeline probe</c> writes beside the dataset and <c>pipeline report</c> reads.</summary>
    public const string ProbeFile = "probe.json";

    /// <summary>The report's default HTML file name (its charts go beside it).</summary>
    public const string ReportFile = "report.html";

    private DatasetFolder(string root, IReadOnlyList<DatasetImageFile> imageFiles)
    {
        Root = root;
        ImageFiles = imageFiles;
    }

    /// <summary>Absolute path of the dataset folder.</summary>
    public string Root { get; }

    /// <summary>Image files in ordinal path order (split, then supercategory, then part number).</summary>
    public IReadOnlyList<DatasetImageFile> ImageFiles { get; }

    public string ImagesDir => Path.Combine(Root, DatasetMerger.ImagesFolder);
    public string HistogramsPath => Path.Combine(Root, DatasetMerger.HistogramsFile);
    public string ClassCountsPath => Path.Combine(Root, DatasetMerger.ClassCountsFile);
    public string ErrorsPath => Path.Combine(Root, DatasetMerger.ErrorsFile);
    public string ManifestPath => Path.Combine(Root, DatasetMerger.ManifestFile);
    /// <summary>
    /// Where <c>pipeline report</c> and <c>pipeline probe</c> write by default: the folder that holds the dataset (the
    /// job's output folder), so the dataset itself holds only what the merge wrote and its manifest lists.
    /// </summary>
    public string AnalysisDir => System.IO.Path.GetDirectoryName(Root) ?? Root;

    /// <summary>Probe results beside the dataset; <paramref name="inside"/>: where earlier versions wrote them, in it.</summary>
    public string ProbePath(bool shuffledLabels, bool inside = false) =>
        Path.Combine(inside ? Root : AnalysisDir, ProbeResult.DefaultFileName(shuffledLabels));

    /// <summary>True when the merge finished (<c>_SUCCESS</c> is written last).</summary>
    public bool IsComplete => File.Exists(Path.Combine(Root, DatasetMerger.SuccessFile));

    /// <summary>The job's output folder holds the dataset; its coordinator state sits beside it in <c>_pipeline/</c>.</summary>
    public string? JobOutputDir => Path.GetDirectoryName(Root);

    /// <summary>Opens a dataset folder, or throws <see cref="InvalidDataException"/> saying what is wrong with it.</summary>
    public static DatasetFolder Open(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string root = System.IO.Path.GetFullPath(path);
        if (!Directory.Exists(root))
            throw new InvalidDataException($"dataset folder {path} does not exist");
        string images = System.IO.Path.Combine(root, DatasetMerger.ImagesFolder);
        if (!Directory.Exists(images))
        {
            // the usual slip: pointing at the job's output folder instead of its dataset/ subfolder
            string nested = System.IO.Path.Combine(root, DatasetMerger.DatasetFolder, DatasetMerger.ImagesFolder);
            throw new InvalidDataException(Directory.Exists(nested)
                ? $"{path} is a job output folder; pass its dataset folder {System.IO.Path.Combine(path, DatasetMerger.DatasetFolder)}"
                : $"{path} is not a dataset folder: it has no {DatasetMerger.ImagesFolder}/ folder (run `pipeline run` first)");
        }

        var files = new List<DatasetImageFile>();
        foreach (string file in Directory.EnumerateFiles(images, "*.parquet", SearchOption.AllDirectories))
        {
            if (!HivePath.TryParsePartition(file, out string? split, out string? supercategory))
                throw new InvalidDataException(
                    $"{file}: not under split=…/supercategory=… folders, so its rows have no split or super-class");
            files.Add(new DatasetImageFile(file, split!, supercategory!));
        }
        files.Sort(static (a, b) => string.CompareOrdinal(a.Path, b.Path));
        return new DatasetFolder(root, files);
    }

    /// <summary>Throws naming the statistics file when the merge did not write it.</summary>
    public string Require(string path)
    {
        if (!File.Exists(path))
            throw new InvalidDataException($"{path} is missing: the dataset is incomplete (is _SUCCESS there?)");
        return path;
    }
}
