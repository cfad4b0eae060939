using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pipeline.Analysis;

/// <summary>Accuracy of the probe on the val images of one super-class (a row of the paper's Table 4).</summary>
/// <param name="Classes">Species of the super-class the probe was trained on.</param>
/// <param name="AverageTrainImages">Train images per species of the super-class (the paper's "Avg Train").</param>
/// <param name="Top1">Top-1 averaged over the super-class's species with val images, as Table 4 averages.</param>
/// <param name="ImageTop1">Top-1 over the super-class's val images (each image counts once).</param>
public sealed record ProbeSuperclassRow(
    [property: JsonPropertyName("supercategory")] string Supercategory,
    [property: JsonPropertyName("classes")] int Classes,
    [property: JsonPropertyName("train_images")] long TrainImages,
    [property: JsonPropertyName("avg_train_images")] double AverageTrainImages,
    [property: JsonPropertyName("val_images")] long ValImages,
    [property: JsonPropertyName("top1")] double Top1,
    [property: JsonPropertyName("top5")] double Top5,
    [property: JsonPropertyName("image_top1")] double ImageTop1,
    [property: JsonPropertyName("image_top5")] double ImageTop5);

/// <summary>
/// What <c>pipeline probe</c> measured: a multinomial logistic regression trained on the train split's embeddings and
/// evaluated on the val split. Accuracies are fractions in [0, 1]. <see cref="Top1"/>/<see cref="Top5"/> count every
/// val image once (the paper's Table 3); <see cref="ChanceTop1"/> is 1/classes, what a classifier that knows nothing
/// scores when averaged over classes (<see cref="MeanClassTop1"/>); <see cref="MajorityTop1"/> is the share of val
/// images in the largest train class, what always guessing that class scores over images.
/// </summary>
public sealed record ProbeResult(
    [property: JsonPropertyName("dataset")] string Dataset,
    [property: JsonPropertyName("job")] string? Job,
    [property: JsonPropertyName("model_sha256")] string? ModelSha256,
    [property: JsonPropertyName("trainer")] string Trainer,
    [property: JsonPropertyName("seed")] int Seed,
    [property: JsonPropertyName("shuffled_labels")] bool ShuffledLabels,
    [property: JsonPropertyName("max_train_per_class")] int? MaxTrainPerClass,
    [property: JsonPropertyName("classes")] int Classes,
    [property: JsonPropertyName("embedding_dimension")] int EmbeddingDimension,
    [property: JsonPropertyName("train_images")] long TrainImages,
    [property: JsonPropertyName("val_images")] long ValImages,
    [property: JsonPropertyName("top1")] double Top1,
    [property: JsonPropertyName("top5")] double Top5,
    [property: JsonPropertyName("mean_class_top1")] double MeanClassTop1,
    [property: JsonPropertyName("mean_class_top5")] double MeanClassTop5,
    [property: JsonPropertyName("chance_top1")] double ChanceTop1,
    [property: JsonPropertyName("chance_top5")] double ChanceTop5,
    [property: JsonPropertyName("majority_top1")] double MajorityTop1,
    [property: JsonPropertyName("superclasses")] IReadOnlyList<ProbeSuperclassRow> Superclasses,
    [property: JsonPropertyName("train_seconds")] double TrainSeconds,
    [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt)
{
    /// <summary>Version of the JSON layout; raised only when a field changes meaning or goes away.</summary>
    [JsonPropertyName("schema_version")]
    [JsonPropertyOrder(-1)]
    public int SchemaVersion => 1;

    /// <summary>The default file name beside the dataset: the shuffled-label control never overwrites the real probe.</summary>
    public static string DefaultFileName(bool shuffledLabels) => shuffledLabels ? "probe-shuffled-labels.json" : DatasetFolder.ProbeFile;

    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Options);

    public static ProbeResult Parse(string json, string source)
    {
        try
        {
            return JsonSerializer.Deserialize<ProbeResult>(json, Options) ?? throw new InvalidDataException($"{source} is empty");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: not a probe result: {e.Message}", e);
        }
    }

    /// <summary>Reads a probe file, or null when there is none.</summary>
    public static async Task<ProbeResult?> TryReadAsync(string path, CancellationToken cancellationToken = default) =>
        File.Exists(path) ? Parse(await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false), path) : null;

    /// <summary>The paper's Table 3 and Table 4 layouts as plain text, accuracies in percent.</summary>
    public string ToText(ProbeResult? control = null) => ProbeTables.Render(this, control);
}
