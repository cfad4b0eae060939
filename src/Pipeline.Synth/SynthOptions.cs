namespace Pipeline.Synth;

/// <summary>
/// What <see cref="CorpusGenerator.Generate"/> writes. <paramref name="Scale"/> 1 reproduces the paper's Table 2 exactly;
/// smaller scales shrink the classes of every super-class (at least one each) and their images alike.
/// </summary>
/// <param name="OutDir">Corpus root: the five JSON files and the <c>train_val_images</c> / <c>test2017</c> trees go here.</param>
/// <param name="Scale">Fraction of the release, in (0, 1].</param>
/// <param name="Seed">Same seed, same options: the same bytes in every file, on any number of threads.</param>
/// <param name="MaxSide">Longest image side in pixels (the release: 800).</param>
/// <param name="WriteImages">False writes the annotations only.</param>
/// <param name="Threads">Image threads; null uses every core.</param>
public sealed record SynthOptions(
    string OutDir,
    double Scale = SynthOptions.DefaultScale,
    int Seed = SynthOptions.DefaultSeed,
    int MaxSide = SynthOptions.DefaultMaxSide,
    bool WriteImages = true,
    int? Threads = null)
{
    public const double DefaultScale = 0.001;
    public const int DefaultSeed = 2017;
    public const int DefaultMaxSide = 800;

    /// <summary>Smallest longest side accepted: below it boxes and species patterns no longer fit.</summary>
    public const int MinMaxSide = 32;

    /// <summary>Largest longest side accepted: beyond it one image buffer grows past what a generator should hold.</summary>
    public const int MaxMaxSide = 4096;

    /// <summary>Train images every class gets at least (1 keeps Table 2 exact at scale 1; the demo raises it).</summary>
    public int MinTrainImagesPerClass { get; init; } = 1;

    /// <summary>JPEG quality (1..100). 90 makes 800 px pictures of about the release's size.</summary>
    public int JpegQuality { get; init; } = 90;

    /// <summary>
    /// The small corpus <c>pipeline run</c> uses when given none: all 13 super-classes (one species each at this scale),
    /// 333 train, 52 val and 45 test images, at least 8 train images a species so a linear probe has something to learn.
    /// </summary>
    public static SynthOptions Demo(string outDir) => new(outDir, Scale: 0.0005) { MinTrainImagesPerClass = 8 };

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad option, before anything is written.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(OutDir))
            throw new ArgumentException("The output directory must be given.", nameof(OutDir));
        if (double.IsNaN(Scale) || Scale <= 0 || Scale > 1)
            throw new ArgumentOutOfRangeException(nameof(Scale), Scale, "Scale must be in (0, 1]; 1 is the full iNat2017 release (675,170 train+val images).");
        if (MaxSide < MinMaxSide || MaxSide > MaxMaxSide)
            throw new ArgumentOutOfRangeException(nameof(MaxSide), MaxSide, $"The longest image side must be {MinMaxSide}..{MaxMaxSide} px (the release uses 800).");
        if (Threads is < 1)
            throw new ArgumentOutOfRangeException(nameof(Threads), Threads, "Threads must be at least 1 (or null for every core).");
        if (MinTrainImagesPerClass < 1 || MinTrainImagesPerClass > PaperTable2.LargestTrainClass)
            throw new ArgumentOutOfRangeException(nameof(MinTrainImagesPerClass), MinTrainImagesPerClass, $"Must be 1..{PaperTable2.LargestTrainClass}.");
        if (JpegQuality < 1 || JpegQuality > 100)
            throw new ArgumentOutOfRangeException(nameof(JpegQuality), JpegQuality, "JPEG quality must be 1..100.");
    }
}

/// <summary>What the generator is doing: <see cref="Done"/> of <see cref="Total"/> items of the current phase.</summary>
public readonly record struct SynthProgress(SynthPhase Phase, long Done, long Total);

public enum SynthPhase
{
    /// <summary>Choosing classes, counts, frames and boxes (items: images planned).</summary>
    Planning,

    /// <summary>Writing the five JSON files (items: files).</summary>
    Annotations,

    /// <summary>Drawing and encoding JPEGs (items: images).</summary>
    Images,
}

/// <summary>Counts of one super-class in the written corpus.</summary>
public sealed record SuperClassSummary(string Name, int Classes, int TrainImages, int ValImages, int Boxes);

/// <summary>What was written. <see cref="JpegBytes"/> is the sum of the JPEG file sizes.</summary>
public sealed record SynthSummary(
    string OutDir,
    int Classes,
    int TrainImages,
    int ValImages,
    int TestImages,
    int Boxes,
    int JpegFiles,
    long JpegBytes,
    TimeSpan Elapsed,
    IReadOnlyList<SuperClassSummary> SuperClasses)
{
    public double MeanJpegBytes => JpegFiles == 0 ? 0 : (double)JpegBytes / JpegFiles;
}
