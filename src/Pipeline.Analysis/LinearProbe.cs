using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using Pipeline.Corpus;
using Pipeline.Storage;

namespace Pipeline.Analysis;

/// <summary>Settings of <see cref="LinearProbe"/>.</summary>
public sealed record LinearProbeOptions
{
    /// <summary>Seeds ML.NET, the label shuffle and the per-class cap's sample.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Permute the train labels among the train images: a control that must fall to chance.</summary>
    public bool ShuffleLabels { get; init; }

    /// <summary>Train on at most this many images per species (a random sample); null trains on all.</summary>
    public int? MaxTrainPerClass { get; init; }

    /// <summary>L2 weight of the logistic regression.</summary>
    public float L2Regularization { get; init; } = 1f;

    /// <summary>L-BFGS iterations at most.</summary>
    public int MaximumIterations { get; init; } = 200;

    /// <summary>Trainer threads; 1 keeps the result the same on every run.</summary>
    public int Threads { get; init; } = 1;

    public void Validate()
    {
        if (MaxTrainPerClass is < 1) throw new ArgumentOutOfRangeException(nameof(MaxTrainPerClass), MaxTrainPerClass, "must be at least 1");
        if (L2Regularization < 0) throw new ArgumentOutOfRangeException(nameof(L2Regularization), L2Regularization, "must not be negative");
        if (MaximumIterations < 1) throw new ArgumentOutOfRangeException(nameof(MaximumIterations), MaximumIterations, "must be at least 1");
        if (Threads < 1) throw new ArgumentOutOfRangeException(nameof(Threads), Threads, "must be at least 1");
    }
}

/// <summary>
/// A linear probe of the embeddings: multinomial logistic regression (ML.NET's L-BFGS maximum entropy trainer) on the
/// train split, evaluated on val with top-1 and top-5 overall and per super-class. It tests that the embeddings carry
/// the species, and, with shuffled labels, that rows, labels and embeddings stayed joined through the pipeline: a
/// probe well above chance with real labels and at chance with shuffled ones is only possible if they did.
/// Memory: every train and val embedding is held (4 bytes × dimension × images), as the trainer needs them all.
/// </summary>
public static class LinearProbe
{
    public const string TrainerName = "LbfgsMaximumEntropy";

    public static async Task<ProbeResult> RunAsync(string datasetDir, LinearProbeOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        options ??= new LinearProbeOptions();
        options.Validate();
        var clock = Stopwatch.StartNew();
        var readerOptions = new DatasetReaderOptions { Shuffle = false, Boxes = false, Embeddings = true, BatchSize = 1024 };
        DatasetReader train = await DatasetReader.OpenAsync(datasetDir, readerOptions with { Splits = [Splits.Train] }, cancellationToken).ConfigureAwait(false);
        DatasetReader val = await DatasetReader.OpenAsync(datasetDir, readerOptions with { Splits = [Splits.Val] }, cancellationToken).ConfigureAwait(false);
        DatasetClasses classes = train.Classes;
        var random = new Random(options.Seed);
        List<EmbeddingExample> trainRows = await ReadExamplesAsync(train, cancellationToken).ConfigureAwait(false);
        List<EmbeddingExample> valRows = await ReadExamplesAsync(val, cancellationToken).ConfigureAwait(false);
        if (trainRows.Count == 0) throw new InvalidDataException($"{datasetDir}: the dataset has no labelled train images to fit a probe on");
        if (valRows.Count == 0) throw new InvalidDataException($"{datasetDir}: the dataset has no labelled val images to evaluate a probe on");
        int dimension = trainRows[0].Features.Length;
        if (valRows[0].Features.Length != dimension)
            throw new InvalidDataException($"{datasetDir}: train embeddings have {dimension} values, val embeddings {valRows[0].Features.Length}");
        if (options.MaxTrainPerClass is { } cap)
            trainRows = CapPerClass(trainRows, cap, random);
        var trainPerClass = new long[classes.Count];
        foreach (EmbeddingExample row in trainRows) trainPerClass[row.Label]++;
        if (options.ShuffleLabels)
            ShuffleLabels(trainRows, random);

        float[][] scores = FitAndScore(trainRows, valRows, classes.Count, dimension, options, cancellationToken);
        clock.Stop();

        DatasetManifest? manifest = File.Exists(train.Dataset.ManifestPath)
            ? await DatasetManifest.ReadAsync(train.Dataset.ManifestPath, cancellationToken).ConfigureAwait(false)
            : null;
        return Evaluate(train.Dataset.Root, manifest, options, classes, dimension, trainPerClass, trainRows.Count, valRows, scores,
            clock.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// One image for ML.NET: its dense label as a key and its embedding. A key held in a class is 0-based (ML.NET stores
    /// it plus one, keeping 0 for missing), and score slot k belongs to label k.
    /// </summary>
    public sealed class EmbeddingExample
    {
        public uint Label { get; set; }
        public float[] Features { get; set; } = [];
    }

    private static async Task<List<EmbeddingExample>> ReadExamplesAsync(DatasetReader reader, CancellationToken cancellationToken)
    {
        var rows = new List<EmbeddingExample>(checked((int)reader.RowCount));
        await foreach (TrainingBatch batch in reader.ReadBatchesAsync(0, cancellationToken).ConfigureAwait(false))
        {
            using (batch)
            {
                for (int i = 0; i < batch.Count; i++)
                {
                    if (batch.Labels[i] < 0) continue; // an unlabelled image can neither teach nor test the probe
                    rows.Add(new EmbeddingExample
                    {
                        Label = (uint)batch.Labels[i],
                        Features = batch.EmbeddingOf(i).ToArray(),
                    });
                }
            }
        }
        return rows;
    }

    private static List<EmbeddingExample> CapPerClass(List<EmbeddingExample> rows, int cap, Random random)
    {
        var shuffled = rows.ToArray();
        random.Shuffle(shuffled);
        var taken = new Dictionary<uint, int>();
        var kept = new List<EmbeddingExample>();
        foreach (EmbeddingExample row in shuffled)
        {
            int count = taken.GetValueOrDefault(row.Label);
            if (count >= cap) continue;
            taken[row.Label] = count + 1;
            kept.Add(row);
        }
        return kept;
    }

    /// <summary>A permutation of the labels among the rows: class sizes stay, the link to the embedding goes.</summary>
    private static void ShuffleLabels(List<EmbeddingExample> rows, Random random)
    {
        var labels = new uint[rows.Count];
        for (int i = 0; i < labels.Length; i++) labels[i] = rows[i].Label;
        random.Shuffle(labels);
        for (int i = 0; i < labels.Length; i++)
            rows[i] = new EmbeddingExample { Label = labels[i], Features = rows[i].Features };
    }

    private static float[][] FitAndScore(List<EmbeddingExample> trainRows, List<EmbeddingExample> valRows, int classes,
        int dimension, LinearProbeOptions options, CancellationToken cancellationToken)
    {
        var ml = new MLContext(options.Seed);
        SchemaDefinition schema = SchemaDefinition.Create(typeof(EmbeddingExample));
        schema[nameof(EmbeddingExample.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, dimension);
        schema[nameof(EmbeddingExample.Label)].ColumnType = new KeyDataViewType(typeof(uint), classes);
        IDataView train = ml.Data.LoadFromEnumerable(trainRows, schema);
        IDataView val = ml.Data.LoadFromEnumerable(valRows, schema);

        var trainer = ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy(new LbfgsMaximumEntropyMulticlassTrainer.Options
        {
            LabelColumnName = nameof(EmbeddingExample.Label),
            FeatureColumnName = nameof(EmbeddingExample.Features),
            L2Regularization = options.L2Regularization,
            L1Regularization = 0,
            MaximumNumberOfIterations = options.MaximumIterations,
            NumberOfThreads = options.Threads,
        });
        // unit variance per feature, so one L2 weight suits any model's embedding scale
        var pipeline = ml.Transforms.NormalizeMeanVariance(nameof(EmbeddingExample.Features)).Append(trainer);
        cancellationToken.ThrowIfCancellationRequested();
        var model = pipeline.Fit(train);
        cancellationToken.ThrowIfCancellationRequested();

        IDataView scored = model.Transform(val);
        var scores = new float[valRows.Count][];
        DataViewSchema.Column scoreColumn = scored.Schema["Score"];
        using DataViewRowCursor cursor = scored.GetRowCursor([scoreColumn]);
        ValueGetter<VBuffer<float>> getter = cursor.GetGetter<VBuffer<float>>(scoreColumn);
        VBuffer<float> buffer = default;
        int row = 0;
        while (cursor.MoveNext())
        {
            getter(ref buffer);
            var dense = new float[classes];
            buffer.CopyTo(dense);
            scores[row++] = dense;
        }
        if (row != valRows.Count)
            throw new InvalidOperationException($"the probe scored {row} of {valRows.Count} val images");
        return scores;
    }

    private static ProbeResult Evaluate(string dataset, DatasetManifest? manifest, LinearProbeOptions options, DatasetClasses classes,
        int dimension, long[] trainPerClass, long trainImages, List<EmbeddingExample> valRows, float[][] scores, double seconds)
    {
        int k = classes.Count;
        var valPerClass = new long[k];
        var top1PerClass = new long[k];
        var top5PerClass = new long[k];
        long top1 = 0, top5 = 0;
        for (int i = 0; i < valRows.Count; i++)
        {
            int label = (int)valRows[i].Label;
            int rank = RankOf(scores[i], label);
            valPerClass[label]++;
            if (rank < 1) { top1++; top1PerClass[label]++; }
            if (rank < 5) { top5++; top5PerClass[label]++; }
        }

        int largest = 0;
        for (int c = 1; c < k; c++)
            if (trainPerClass[c] > trainPerClass[largest]) largest = c;

        var superclasses = new List<ProbeSuperclassRow>();
        foreach (string super in SuperclassOrder(classes))
        {
            int superClasses = 0, evaluated = 0;
            long train = 0, val = 0, imageTop1 = 0, imageTop5 = 0;
            double sumTop1 = 0, sumTop5 = 0;
            foreach (DatasetClass c in classes.Classes)
            {
                if (c.Supercategory != super) continue;
                superClasses++;
                train += trainPerClass[c.Label];
                val += valPerClass[c.Label];
                imageTop1 += top1PerClass[c.Label];
                imageTop5 += top5PerClass[c.Label];
                if (valPerClass[c.Label] == 0) continue;
                evaluated++;
                sumTop1 += (double)top1PerClass[c.Label] / valPerClass[c.Label];
                sumTop5 += (double)top5PerClass[c.Label] / valPerClass[c.Label];
            }
            superclasses.Add(new ProbeSuperclassRow(super, superClasses, train, superClasses == 0 ? 0 : (double)train / superClasses, val,
                evaluated == 0 ? 0 : sumTop1 / evaluated, evaluated == 0 ? 0 : sumTop5 / evaluated,
                val == 0 ? 0 : (double)imageTop1 / val, val == 0 ? 0 : (double)imageTop5 / val));
        }

        double meanTop1 = 0, meanTop5 = 0;
        int withVal = 0;
        for (int c = 0; c < k; c++)
        {
            if (valPerClass[c] == 0) continue;
            withVal++;
            meanTop1 += (double)top1PerClass[c] / valPerClass[c];
            meanTop5 += (double)top5PerClass[c] / valPerClass[c];
        }
        double n = valRows.Count;
        return new ProbeResult(dataset, manifest?.Job, manifest?.ModelSha256, TrainerName, options.Seed, options.ShuffleLabels,
            options.MaxTrainPerClass, k, dimension, trainImages, valRows.Count, top1 / n, top5 / n,
            withVal == 0 ? 0 : meanTop1 / withVal, withVal == 0 ? 0 : meanTop5 / withVal,
            1.0 / k, Math.Min(5, k) / (double)k, valPerClass[largest] / n, superclasses, seconds, DateTimeOffset.UtcNow);
    }

    /// <summary>How many classes score strictly higher than the true one (0: top-1); ties count against the true class.</summary>
    internal static int RankOf(ReadOnlySpan<float> scores, int label)
    {
        float own = scores[label];
        int above = 0;
        for (int c = 0; c < scores.Length; c++)
            if (c != label && (scores[c] > own || (scores[c] == own && c < label)))
                above++;
        return above;
    }

    /// <summary>Super-classes in the paper's Table 2 order, then any others by name.</summary>
    internal static List<string> SuperclassOrder(DatasetClasses classes)
    {
        var present = new HashSet<string>(StringComparer.Ordinal);
        foreach (DatasetClass c in classes.Classes) present.Add(c.Supercategory);
        return SuperclassOrder(present);
    }

    internal static List<string> SuperclassOrder(IEnumerable<string> names)
    {
        var present = new HashSet<string>(names, StringComparer.Ordinal);
        var order = new List<string>();
        foreach (Stats.PaperSuperclassRow row in Stats.PaperFigures.Table2)
            if (present.Remove(row.Supercategory)) order.Add(row.Supercategory);
        var rest = new List<string>(present);
        rest.Sort(StringComparer.Ordinal);
        order.AddRange(rest);
        return order;
    }
}
