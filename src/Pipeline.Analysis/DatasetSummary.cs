using Pipeline.Analysis.Stats;
using Pipeline.Schema;
using Pipeline.Storage;

namespace Pipeline.Analysis;

/// <summary>
/// Table 2 row from the dataset: species of the super-class with at least one row, train and val images, boxes
/// (train + val); <see cref="Paper"/> is the published row (null for a super-class the paper does not list).
/// </summary>
public sealed record SuperclassCounts(string Supercategory, int Classes, long TrainImages, long ValImages, long Boxes, PaperSuperclassRow? Paper);

/// <summary>A species and its number of training images.</summary>
public sealed record SpeciesCount(int CategoryId, string Species, string Supercategory, long TrainImages);

/// <summary>
/// Table 1's imbalance and Figure 2: train images per species (descending), over the species with train images;
/// the top 1% is the ceil(1% of them) most populated, its share is of all train images (as <c>pipeline stats</c>).
/// </summary>
public sealed record TrainDistribution(
    IReadOnlyList<SpeciesCount> Descending,
    long TrainImages,
    double? Imbalance,
    int TopOnePercentClasses,
    long TopOnePercentImages,
    double TopOnePercentShare)
{
    /// <summary>The most populated species; a tie goes to the lowest category id, as in <c>pipeline stats</c>.</summary>
    public SpeciesCount? Largest => Descending.Count > 0 ? Descending[0] : null;

    /// <summary>The least populated species; a tie goes to the lowest category id, as in <c>pipeline stats</c>.</summary>
    public SpeciesCount? Smallest
    {
        get
        {
            if (Descending.Count == 0) return null;
            // descending by count, ties by ascending id: the first of the last run of equal counts
            int i = Descending.Count - 1;
            while (i > 0 && Descending[i - 1].TrainImages == Descending[^1].TrainImages) i--;
            return Descending[i];
        }
    }
}

/// <summary>Figure 4 for one super-class: relative box size counts per bin, train and val together.</summary>
public sealed record BoxSizeDistribution(string Supercategory, IReadOnlyList<HistogramBinRow> Bins, long Boxes, double? Median);

/// <summary>A bin [Lo, Hi) of a size histogram in pixels.</summary>
public sealed record SizeBin(int Lo, int Hi, long Widths, long Heights);

/// <summary>
/// Decoded image sizes of every output row (width/height after EXIF orientation) and of the resized image the boxes
/// refer to. <see cref="SizeMismatches"/>: images whose decoded size differed from the JSON's, as the workers counted
/// them in the job journal; null when the journal is not beside the dataset.
/// </summary>
public sealed record DecodeSizes(
    long Images,
    int MinWidth, int MaxWidth, double MeanWidth,
    int MinHeight, int MaxHeight, double MeanHeight,
    int MinResizedShorter, int MaxResizedShorter,
    IReadOnlyList<SizeBin> Bins,
    long? SizeMismatches);

/// <summary>Quarantined images of one (stage, error).</summary>
public sealed record QuarantineGroup(string Stage, string Error, long Images);

/// <summary>errors.parquet summarised: totals by stage and error, and the first few rows as examples.</summary>
public sealed record QuarantineSummary(long Images, IReadOnlyList<QuarantineGroup> Groups, IReadOnlyList<ErrorRow> Examples);

/// <summary>
/// Everything <c>pipeline report</c> shows, computed from the merged dataset's Parquet files (and the probe results
/// beside it). The numbers are the dataset's own; the paper's are carried beside them for comparison.
/// </summary>
public sealed record DatasetSummary(
    string Dataset,
    bool Complete,
    DatasetManifest? Manifest,
    IReadOnlyList<SuperclassCounts> Superclasses,
    SuperclassCounts Total,
    TrainDistribution Train,
    IReadOnlyList<BoxSizeDistribution> BoxSizes,
    DecodeSizes Sizes,
    QuarantineSummary Quarantine,
    ProbeResult? Probe,
    ProbeResult? ShuffledProbe)
{
    /// <summary>
    /// The run's scale against the paper: this dataset's train + val images over the paper's (675,170); the paper's
    /// Table 2 times this is what a corpus of this size would hold. Null when the paper's total is unknown.
    /// </summary>
    public double? PaperScale => Total.Paper is { } paper && paper.TrainImages + paper.ValImages > 0
        ? (double)(Total.TrainImages + Total.ValImages) / (paper.TrainImages + paper.ValImages)
        : null;
}
