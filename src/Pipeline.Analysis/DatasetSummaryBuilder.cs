using Pipeline.Corpus;
using Pipeline.Jobs;
using Pipeline.Schema;
using Pipeline.Analysis.Stats;
using Pipeline.Storage;

namespace Pipeline.Analysis;

/// <summary>
/// Computes a <see cref="DatasetSummary"/> from a merged dataset: Table 1/2 and Figure 2 from class_counts.parquet,
/// Figure 4 from box_size_histograms.parquet, decode sizes from the size columns of the image files (one row group at
/// a time, no embeddings or pixels read), quarantine from errors.parquet, probe results from the JSON beside it.
/// </summary>
public static class DatasetSummaryBuilder
{
    /// <summary>Quarantine rows shown as examples.</summary>
    public const int QuarantineExamples = 10;

    public static async Task<DatasetSummary> BuildAsync(string datasetDir, CancellationToken cancellationToken = default)
    {
        DatasetFolder dataset = DatasetFolder.Open(datasetDir);
        DatasetManifest? manifest = File.Exists(dataset.ManifestPath)
            ? await DatasetManifest.ReadAsync(dataset.ManifestPath, cancellationToken).ConfigureAwait(false)
            : null;
        IReadOnlyList<ClassCountRow> counts = await StatisticsFiles.ReadClassCountsAsync(
            dataset.Require(dataset.ClassCountsPath), cancellationToken).ConfigureAwait(false);
        IReadOnlyList<HistogramBinRow> bins = await StatisticsFiles.ReadHistogramsAsync(
            dataset.Require(dataset.HistogramsPath), cancellationToken).ConfigureAwait(false);

        (List<SuperclassCounts> superclasses, SuperclassCounts total) = Table2(counts);
        return new DatasetSummary(
            dataset.Root,
            dataset.IsComplete,
            manifest,
            superclasses,
            total,
            TrainImagesPerSpecies(counts),
            BoxSizes(bins),
            await DecodeSizesAsync(dataset, manifest, cancellationToken).ConfigureAwait(false),
            await QuarantineAsync(dataset, cancellationToken).ConfigureAwait(false),
            await ReadProbeAsync(dataset, shuffledLabels: false, cancellationToken).ConfigureAwait(false),
            await ReadProbeAsync(dataset, shuffledLabels: true, cancellationToken).ConfigureAwait(false));
    }

    private static async Task<ProbeResult?> ReadProbeAsync(DatasetFolder dataset, bool shuffledLabels, CancellationToken cancellationToken) =>
        await ProbeResult.TryReadAsync(dataset.ProbePath(shuffledLabels), cancellationToken).ConfigureAwait(false)
        ?? await ProbeResult.TryReadAsync(dataset.ProbePath(shuffledLabels, inside: true), cancellationToken).ConfigureAwait(false);

    internal static (List<SuperclassCounts> Rows, SuperclassCounts Total) Table2(IReadOnlyList<ClassCountRow> counts)
    {
        var species = new Dictionary<string, HashSet<int>>(StringComparer.Ordinal);
        var train = new Dictionary<string, long>(StringComparer.Ordinal);
        var val = new Dictionary<string, long>(StringComparer.Ordinal);
        var boxes = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (ClassCountRow row in counts)
        {
            if (row.CategoryId < 0) continue; // unlabelled (test) images belong to no species
            if (!species.TryGetValue(row.Supercategory, out HashSet<int>? ids))
                species[row.Supercategory] = ids = [];
            ids.Add(row.CategoryId);
            if (row.Split == Splits.Train) train[row.Supercategory] = train.GetValueOrDefault(row.Supercategory) + row.Images;
            else if (row.Split == Splits.Val) val[row.Supercategory] = val.GetValueOrDefault(row.Supercategory) + row.Images;
            // Table 2 counts the boxes of train and val images, as the box files hold them
            if (row.Split is Splits.Train or Splits.Val) boxes[row.Supercategory] = boxes.GetValueOrDefault(row.Supercategory) + row.Boxes;
        }
        var paper = new Dictionary<string, PaperSuperclassRow>(StringComparer.Ordinal);
        foreach (PaperSuperclassRow row in PaperFigures.Table2) paper[row.Supercategory] = row;

        var rows = new List<SuperclassCounts>();
        int totalClasses = 0;
        long totalTrain = 0, totalVal = 0, totalBoxes = 0;
        foreach (string super in LinearProbe.SuperclassOrder(species.Keys))
        {
            var row = new SuperclassCounts(super, species[super].Count, train.GetValueOrDefault(super), val.GetValueOrDefault(super),
                boxes.GetValueOrDefault(super), paper.GetValueOrDefault(super));
            rows.Add(row);
            totalClasses += row.Classes;
            totalTrain += row.TrainImages;
            totalVal += row.ValImages;
            totalBoxes += row.Boxes;
        }
        return (rows, new SuperclassCounts("Total", totalClasses, totalTrain, totalVal, totalBoxes, PaperFigures.Table2Total));
    }

    internal static TrainDistribution TrainImagesPerSpecies(IReadOnlyList<ClassCountRow> counts)
    {
        var perSpecies = new List<SpeciesCount>();
        long total = 0;
        foreach (ClassCountRow row in counts)
        {
            if (row.Split != Splits.Train || row.Images <= 0 || row.CategoryId < 0) continue;
            perSpecies.Add(new SpeciesCount(row.CategoryId, row.Species, row.Supercategory, row.Images));
            total += row.Images;
        }
        // descending, ties by category id, so the plot and the top 1% are the same on every run
        perSpecies.Sort(static (a, b) => a.TrainImages != b.TrainImages ? b.TrainImages.CompareTo(a.TrainImages) : a.CategoryId.CompareTo(b.CategoryId));
        if (perSpecies.Count == 0)
            return new TrainDistribution(perSpecies, 0, null, 0, 0, 0);
        int top = (int)Math.Ceiling(perSpecies.Count * 0.01);
        long topImages = 0;
        for (int i = 0; i < top; i++) topImages += perSpecies[i].TrainImages;
        double imbalance = (double)perSpecies[0].TrainImages / perSpecies[^1].TrainImages; // ties do not change the ratio
        return new TrainDistribution(perSpecies, total, imbalance, top, topImages, (double)topImages / total);
    }

    internal static List<BoxSizeDistribution> BoxSizes(IReadOnlyList<HistogramBinRow> bins)
    {
        // bins of one super-class summed over splits, keyed by the bin's lower edge
        var bySuper = new Dictionary<string, SortedDictionary<double, HistogramBinRow>>(StringComparer.Ordinal);
        foreach (HistogramBinRow bin in bins)
        {
            if (!bySuper.TryGetValue(bin.Supercategory, out SortedDictionary<double, HistogramBinRow>? merged))
                bySuper[bin.Supercategory] = merged = [];
            merged[bin.BinLo] = merged.TryGetValue(bin.BinLo, out HistogramBinRow? seen)
                ? seen with { Count = seen.Count + bin.Count }
                : bin with { Split = "train+val" };
        }
        var result = new List<BoxSizeDistribution>();
        foreach (string super in LinearProbe.SuperclassOrder(bySuper.Keys))
        {
            var list = new List<HistogramBinRow>(bySuper[super].Values);
            long boxes = 0;
            foreach (HistogramBinRow bin in list) boxes += bin.Count;
            if (boxes == 0) continue; // super-classes without boxes (Plantae, Fungi, ...) have all-zero histograms
            result.Add(new BoxSizeDistribution(super, list, boxes, Median(list, boxes)));
        }
        return result;
    }

    /// <summary>The median by linear interpolation inside the bin that holds it.</summary>
    private static double? Median(List<HistogramBinRow> bins, long total)
    {
        double half = total / 2.0, seen = 0;
        foreach (HistogramBinRow bin in bins)
        {
            if (bin.Count > 0 && seen + bin.Count >= half)
                return bin.BinLo + (bin.BinHi - bin.BinLo) * ((half - seen) / bin.Count);
            seen += bin.Count;
        }
        return null;
    }

    private static async Task<DecodeSizes> DecodeSizesAsync(DatasetFolder dataset, DatasetManifest? manifest, CancellationToken cancellationToken)
    {
        var widths = new Dictionary<int, long>();
        var heights = new Dictionary<int, long>();
        long images = 0, sumWidth = 0, sumHeight = 0;
        int minWidth = int.MaxValue, maxWidth = 0, minHeight = int.MaxValue, maxHeight = 0;
        int minShorter = int.MaxValue, maxShorter = 0;
        foreach (DatasetImageFile file in dataset.ImageFiles)
        {
            await using ImageColumnReader reader = await ImageColumnReader.OpenAsync(file.Path, cancellationToken).ConfigureAwait(false);
            for (int g = 0; g < reader.RowGroupCount; g++)
            {
                RowGroupColumns group = await reader.ReadAsync(g, ImageColumns.Sizes, cancellationToken).ConfigureAwait(false);
                for (int i = 0; i < group.Rows; i++)
                {
                    int w = group.Widths![i], h = group.Heights![i];
                    int shorter = Math.Min(group.ResizedWidths![i], group.ResizedHeights![i]);
                    images++;
                    sumWidth += w;
                    sumHeight += h;
                    widths[w] = widths.GetValueOrDefault(w) + 1;
                    heights[h] = heights.GetValueOrDefault(h) + 1;
                    minWidth = Math.Min(minWidth, w);
                    maxWidth = Math.Max(maxWidth, w);
                    minHeight = Math.Min(minHeight, h);
                    maxHeight = Math.Max(maxHeight, h);
                    minShorter = Math.Min(minShorter, shorter);
                    maxShorter = Math.Max(maxShorter, shorter);
                }
            }
        }
        if (images == 0)
            return new DecodeSizes(0, 0, 0, 0, 0, 0, 0, 0, 0, [], SizeMismatches(dataset, manifest));
        int width = NiceBinWidth(Math.Max(maxWidth, maxHeight));
        int binCount = Math.Max(maxWidth, maxHeight) / width + 1;
        var widthCounts = new long[binCount];
        var heightCounts = new long[binCount];
        foreach ((int size, long count) in widths) widthCounts[size / width] += count;
        foreach ((int size, long count) in heights) heightCounts[size / width] += count;
        var sizeBins = new List<SizeBin>(binCount);
        for (int b = 0; b < binCount; b++)
            sizeBins.Add(new SizeBin(b * width, (b + 1) * width, widthCounts[b], heightCounts[b]));
        return new DecodeSizes(images, minWidth, maxWidth, (double)sumWidth / images, minHeight, maxHeight, (double)sumHeight / images,
            minShorter, maxShorter, sizeBins, SizeMismatches(dataset, manifest));
    }

    /// <summary>1, 2 or 5 × 10^k pixels, so that about 20 bins cover 0..max.</summary>
    internal static int NiceBinWidth(int max)
    {
        double raw = Math.Max(1, max / 20.0);
        double power = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        foreach (int step in (ReadOnlySpan<int>)[1, 2, 5, 10])
            if (step * power >= raw) return Math.Max(1, (int)(step * power));
        return (int)(10 * power);
    }

    /// <summary>Size mismatches the workers recorded in the journal for the commits this dataset was merged from.</summary>
    private static long? SizeMismatches(DatasetFolder dataset, DatasetManifest? manifest)
    {
        if (dataset.JobOutputDir is not { } output) return null;
        string journal = new JobPaths(output).JournalFile;
        if (!File.Exists(journal)) return null;
        HashSet<(string, int)>? merged = null;
        if (manifest is not null)
        {
            merged = [];
            foreach (ManifestPart part in manifest.Parts) merged.Add((part.Partition, part.Attempt));
        }
        long mismatches = 0;
        bool any = false;
        foreach (JournalEntry entry in CommitJournal.Read(journal))
        {
            if (entry.Kind != JournalEntry.Committed || entry.Commit is null) continue;
            if (merged is not null && !merged.Contains((entry.PartitionId, entry.Attempt))) continue;
            mismatches += entry.Commit.SizeMismatches;
            any = true;
        }
        return any ? mismatches : null;
    }

    private static async Task<QuarantineSummary> QuarantineAsync(DatasetFolder dataset, CancellationToken cancellationToken)
    {
        var groups = new Dictionary<(string Stage, string Error), long>();
        var examples = new List<ErrorRow>();
        long total = 0;
        await using (ErrorRowReader reader = await ErrorRowReader.OpenAsync(dataset.Require(dataset.ErrorsPath), cancellationToken).ConfigureAwait(false))
        {
            await foreach (ErrorRow row in reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                total++;
                groups[(row.Stage, row.Error)] = groups.GetValueOrDefault((row.Stage, row.Error)) + 1;
                if (examples.Count < QuarantineExamples) examples.Add(row);
            }
        }
        var list = new List<QuarantineGroup>(groups.Count);
        foreach (((string stage, string error), long count) in groups) list.Add(new QuarantineGroup(stage, error, count));
        list.Sort(static (a, b) => a.Images != b.Images ? b.Images.CompareTo(a.Images)
            : a.Stage != b.Stage ? string.CompareOrdinal(a.Stage, b.Stage) : string.CompareOrdinal(a.Error, b.Error));
        return new QuarantineSummary(total, list, examples);
    }
}
