using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pipeline.Analysis.Stats;

/// <summary>
/// The corpus statistics of <c>pipeline stats</c>: the paper's Table 1 imbalance, Table 2, Figure 2's class
/// distribution and Figure 4's relative box sizes, from the JSON files alone, plus the reader's issue counts.
/// <see cref="ToJson"/> writes the stable snake_case form documented in docs/stats-json.md;
/// <see cref="ToText"/> writes aligned tables for people.
/// </summary>
public sealed record StatsReport(
    [property: JsonPropertyName("corpus")] string Corpus,
    [property: JsonPropertyName("images")] ImageTotals Images,
    [property: JsonPropertyName("imbalance")] ImbalanceFigures Imbalance,
    [property: JsonPropertyName("superclasses")] IReadOnlyList<SuperclassRow> Superclasses,
    [property: JsonPropertyName("total")] SuperclassRow Total,
    [property: JsonPropertyName("train_images_per_class")] ClassDistribution TrainImagesPerClass,
    [property: JsonPropertyName("box_sizes")] IReadOnlyList<BoxSizeSummary> BoxSizes,
    [property: JsonPropertyName("issues")] IssueSummary Issues)
{
    /// <summary>Version of the JSON layout; raised only when a field changes meaning or goes away.</summary>
    [JsonPropertyName("schema_version")]
    [JsonPropertyOrder(-1)]
    public int SchemaVersion => 1;

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>The report as indented JSON with the documented snake_case names (UTF-8 names kept readable).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>The report as aligned plain-text tables, numbers with thousands separators.</summary>
    public string ToText() => StatsText.Render(this);
}

/// <summary>Image and box counts per split, as yielded by the reader (skipped elements are not counted).</summary>
public sealed record ImageTotals(
    [property: JsonPropertyName("train_images")] long TrainImages,
    [property: JsonPropertyName("val_images")] long ValImages,
    [property: JsonPropertyName("test_images")] long TestImages,
    [property: JsonPropertyName("unlabelled_train_images")] long UnlabelledTrainImages,
    [property: JsonPropertyName("unlabelled_val_images")] long UnlabelledValImages,
    [property: JsonPropertyName("train_boxes")] long TrainBoxes,
    [property: JsonPropertyName("val_boxes")] long ValBoxes);

/// <summary>A class and its number of training images.</summary>
public sealed record ClassCount(
    [property: JsonPropertyName("category_id")] int CategoryId,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("supercategory")] string Supercategory,
    [property: JsonPropertyName("train_images")] long TrainImages);

/// <summary>
/// Table 1: training images in the largest class over those in the smallest, over the classes that have at least
/// one training image (ties go to the lowest category id). Null fields when no class has a training image.
/// </summary>
public sealed record ImbalanceFigures(
    [property: JsonPropertyName("classes_with_train_images")] int ClassesWithTrainImages,
    [property: JsonPropertyName("largest_class")] ClassCount? LargestClass,
    [property: JsonPropertyName("smallest_class")] ClassCount? SmallestClass,
    [property: JsonPropertyName("imbalance")] double? Imbalance);

/// <summary>
/// One row of Table 2. Classes counts the categories of the super-class; images count labelled images; boxes count
/// the boxes of those images (train + val, as the box files hold them). The total row's name is "Total".
/// </summary>
public sealed record SuperclassRow(
    [property: JsonPropertyName("supercategory")] string Supercategory,
    [property: JsonPropertyName("classes")] int Classes,
    [property: JsonPropertyName("train_images")] long TrainImages,
    [property: JsonPropertyName("val_images")] long ValImages,
    [property: JsonPropertyName("train_boxes")] long TrainBoxes,
    [property: JsonPropertyName("val_boxes")] long ValBoxes,
    [property: JsonPropertyName("boxes")] long Boxes);

/// <summary>Order statistics by linear interpolation between the sorted values (NumPy's default, Hyndman-Fan type 7).</summary>
public sealed record Quantiles(
    [property: JsonPropertyName("min")] double Min,
    [property: JsonPropertyName("p10")] double P10,
    [property: JsonPropertyName("p25")] double P25,
    [property: JsonPropertyName("p50")] double P50,
    [property: JsonPropertyName("p75")] double P75,
    [property: JsonPropertyName("p90")] double P90,
    [property: JsonPropertyName("p99")] double P99,
    [property: JsonPropertyName("max")] double Max);

/// <summary>
/// Figure 2: training images per class over the classes with at least one training image. The top 1% is the
/// ceil(1% of those classes) most populated ones; its share is of all labelled training images.
/// </summary>
public sealed record ClassDistribution(
    [property: JsonPropertyName("classes")] int Classes,
    [property: JsonPropertyName("classes_without_train_images")] int ClassesWithoutTrainImages,
    [property: JsonPropertyName("top_1pct_classes")] int TopOnePercentClasses,
    [property: JsonPropertyName("top_1pct_train_images")] long TopOnePercentTrainImages,
    [property: JsonPropertyName("top_1pct_share")] double TopOnePercentShare,
    [property: JsonPropertyName("quantiles")] Quantiles? Quantiles);

/// <summary>A histogram bin [lo, hi) of relative box size; the last bin also holds sizes of 1 and above.</summary>
public sealed record HistogramBin(
    [property: JsonPropertyName("lo")] double Lo,
    [property: JsonPropertyName("hi")] double Hi,
    [property: JsonPropertyName("count")] long Count);

/// <summary>
/// Figure 4: relative box size sqrt(w_box*h_box)/sqrt(w_img*h_img) on the JSON's image size, for the boxes of one
/// super-class (or "all", every box including those of unlabelled images). Our bins, not the paper's: small below
/// 0.1, medium from 0.1 below 0.3, large from 0.3; shares are of the row's boxes (0 when it has none).
/// </summary>
public sealed record BoxSizeSummary(
    [property: JsonPropertyName("supercategory")] string Supercategory,
    [property: JsonPropertyName("boxes")] long Boxes,
    [property: JsonPropertyName("quantiles")] Quantiles? Quantiles,
    [property: JsonPropertyName("small_share")] double SmallShare,
    [property: JsonPropertyName("medium_share")] double MediumShare,
    [property: JsonPropertyName("large_share")] double LargeShare,
    [property: JsonPropertyName("histogram")] IReadOnlyList<HistogramBin> Histogram);

/// <summary>The count of one reader issue kind; <see cref="Skipped"/> says whether such elements were dropped.</summary>
public sealed record IssueCount(
    [property: JsonPropertyName("code")] string Code,
    [property: JsonPropertyName("count")] long Count,
    [property: JsonPropertyName("skipped")] bool Skipped);

/// <summary>A sample message of a reader issue.</summary>
public sealed record IssueSample(
    [property: JsonPropertyName("code")] string Code,
    [property: JsonPropertyName("message")] string Message);

/// <summary>The reader's issues: every kind with its count (zeros included), and the first messages of each kind.</summary>
public sealed record IssueSummary(
    [property: JsonPropertyName("total")] long Total,
    [property: JsonPropertyName("skipped")] long Skipped,
    [property: JsonPropertyName("counts")] IReadOnlyList<IssueCount> Counts,
    [property: JsonPropertyName("samples")] IReadOnlyList<IssueSample> Samples);
