using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace Pipeline.Corpus;

/// <summary>Tunables of <see cref="CorpusReader"/>.</summary>
public sealed record CorpusReaderOptions
{
    /// <summary>Sample messages kept per issue kind (the counts are always complete).</summary>
    public int MaxIssueSamplesPerKind { get; init; } = 5;

    /// <summary>Pixels a box may reach past its image's edge before it counts as outside (rounding in released boxes).</summary>
    public double BoxEdgeTolerancePixels { get; init; } = 1.0;
}

/// <summary>
/// Reads an iNat2017 corpus as released: <c>train2017.json</c>, <c>val2017.json</c>, <c>test2017.json</c> and the box
/// files <c>train_2017_bboxes.json</c>, <c>val_2017_bboxes.json</c> under one root. Any file may be missing except
/// that one of train/val must exist. Files are streamed, never held whole: reading a split makes two passes over its
/// label file (pass 1 builds compact id maps and the boxes; pass 2 yields images in file order).
/// <para>
/// Malformed files stop with <see cref="CorpusFormatException"/>. Odd content in well-formed files (duplicate ids,
/// missing images or categories, bad sizes, boxes outside, unsafe file names) is counted in <see cref="Issues"/> and
/// skipped. A train/val image without a label is kept and yielded with <c>CategoryId == -1</c>, like every test image,
/// so that no image is lost; <see cref="CorpusIssueKind.ImageWithoutLabel"/> counts them. Annotations in the test file
/// are ignored. Not thread-safe: use one reader per thread (its <see cref="Issues"/> may be read from any thread).
/// </para>
/// </summary>
public sealed class CorpusReader
{
    public const string TrainFileName = "train2017.json";
    public const string ValFileName = "val2017.json";
    public const string TestFileName = "test2017.json";
    public const string TrainBoxesFileName = "train_2017_bboxes.json";
    public const string ValBoxesFileName = "val_2017_bboxes.json";

    private readonly CorpusReaderOptions _options;
    private readonly HashSet<string> _splitsCounted = new();
    private Dictionary<int, Category>? _categoryById;
    private Category[]? _categories;

    /// <summary>Opens the corpus under <paramref name="corpusRoot"/>; throws when it or both train and val files are missing.</summary>
    public CorpusReader(string corpusRoot, CorpusReaderOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(corpusRoot);
        _options = options ?? new CorpusReaderOptions();
        Root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(corpusRoot));
        if (!Directory.Exists(Root))
            throw new DirectoryNotFoundException($"corpus root not found: {Root}");
        if (!File.Exists(Path.Combine(Root, TrainFileName)) && !File.Exists(Path.Combine(Root, ValFileName)))
            throw new FileNotFoundException(
                $"corpus root {Root} holds neither {TrainFileName} nor {ValFileName}", Path.Combine(Root, TrainFileName));
        Issues = new CorpusIssues(_options.MaxIssueSamplesPerKind);
    }

    /// <summary>The corpus root, absolute and without a trailing separator.</summary>
    public string Root { get; }

    /// <summary>Issues met so far; each file is counted once however often its split is read.</summary>
    public CorpusIssues Issues { get; }

    /// <summary>The splits whose image file exists, in train, val, test order.</summary>
    public IReadOnlyList<string> AvailableSplits
    {
        get
        {
            var splits = new List<string>(3);
            foreach (string split in new[] { Splits.Train, Splits.Val, Splits.Test })
                if (File.Exists(LabelFilePath(split)))
                    splits.Add(split);
            return splits;
        }
    }

    /// <summary>
    /// The union of the categories of every corpus file, sorted by id, read once on first use. A category id defined
    /// twice with different content keeps its first definition (files in train, val, test, train-box, val-box order).
    /// </summary>
    public IReadOnlyList<Category> Categories
    {
        get
        {
            EnsureCategories();
            return _categories!;
        }
    }

    /// <summary>The category of an id, when the corpus defines it (-1, the unlabelled marker, never is).</summary>
    public bool TryGetCategory(int categoryId, [MaybeNullWhen(false)] out Category category)
    {
        EnsureCategories();
        return _categoryById!.TryGetValue(categoryId, out category);
    }

    /// <summary>The absolute path of an image's file, guaranteed inside <see cref="Root"/> (else ArgumentException).</summary>
    public string ResolvePath(CorpusImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        return CorpusPaths.Resolve(Root, image.FileName);
    }

    /// <summary>
    /// Streams the images of one split in file order, each joined to its label and boxes; nothing when the split's
    /// file is missing. Each enumeration re-reads the files; memory holds the split's id maps and boxes, not its images.
    /// </summary>
    public IEnumerable<CorpusImage> ReadImages(string split)
    {
        string labelsPath = LabelFilePath(split);
        return File.Exists(labelsPath) ? StreamSplit(CanonicalSplit(split), labelsPath) : Array.Empty<CorpusImage>();
    }

    /// <summary>Streams several splits one after the other (e.g. train then val), each in file order.</summary>
    public IEnumerable<CorpusImage> ReadImages(IEnumerable<string> splits)
    {
        ArgumentNullException.ThrowIfNull(splits);
        var ordered = new List<string>();
        foreach (string split in splits)
        {
            LabelFilePath(split);   // rejects an unknown split now, not halfway through
            ordered.Add(split);
        }
        return StreamSplits(ordered);
    }

    private IEnumerable<CorpusImage> StreamSplits(List<string> splits)
    {
        foreach (string split in splits)
            foreach (CorpusImage image in ReadImages(split))
                yield return image;
    }

    private IEnumerable<CorpusImage> StreamSplit(string split, string labelsPath)
    {
        EnsureCategories();
        // Counting each split once keeps Issues true when the planner and the statistics both read it.
        CorpusIssues issues = _splitsCounted.Add(split) ? Issues : new CorpusIssues(0);
        string? boxesPath = BoxFilePath(split);
        if (boxesPath is not null && !File.Exists(boxesPath))
            boxesPath = null;
        SplitIndex index = SplitIndex.Build(split, labelsPath, boxesPath, _categoryById!, issues, _options);

        using var cursor = new JsonFileCursor(labelsPath);
        int ordinal = 0;
        while (NextImage(cursor) is ImageElement image)
        {
            if (index.TryGetYielded(image.Id, ordinal, out int categoryId, out bool known))
                yield return new CorpusImage(image.Id, image.FileName!, image.Width, image.Height, split, categoryId,
                    index.BoxesOf(ordinal));
            else if (!known)
                throw cursor.ErrorAt(image.Offset, $"image {image.Id} was not there on the first pass: the file changed while being read");
            ordinal++;
        }
        if (ordinal != index.ImageCount)
            throw new CorpusFormatException(labelsPath, -1, -1, -1,
                $"the file held {index.ImageCount} images on the first pass and {ordinal} on the second: it changed while being read");
    }

    /// <summary>Pass 2's step: the next image of the file (a plain method, as iterators cannot hold the ref-struct reader).</summary>
    private static ImageElement? NextImage(JsonFileCursor cursor)
    {
        Utf8JsonReader reader = cursor.Begin();
        ImageElement? image = null;
        if (cursor.NextElement(ref reader, CorpusSection.Images) == CorpusSection.Images)
            image = CorpusElements.ReadImage(cursor, ref reader, withFileName: true);
        cursor.Save(ref reader);
        return image;
    }

    private void EnsureCategories()
    {
        if (_categoryById is not null)
            return;
        var byId = new Dictionary<int, Category>();
        string[] files = [TrainFileName, ValFileName, TestFileName, TrainBoxesFileName, ValBoxesFileName];
        foreach (string name in files)
        {
            string path = Path.Combine(Root, name);
            if (File.Exists(path))
                ReadCategories(path, byId);
        }
        var sorted = new Category[byId.Count];
        byId.Values.CopyTo(sorted, 0);
        Array.Sort(sorted, static (a, b) => a.Id.CompareTo(b.Id));
        _categories = sorted;
        _categoryById = byId;
    }

    private void ReadCategories(string path, Dictionary<int, Category> byId)
    {
        using var cursor = new JsonFileCursor(path);
        Utf8JsonReader reader = cursor.Begin();
        // The categories array comes once per file; stopping after it spares the rest of a large file.
        while (cursor.NextElement(ref reader, CorpusSection.Categories, stopAfterSection: true) != CorpusSection.None)
        {
            long offset = cursor.TokenOffset(ref reader);
            Category category = CorpusElements.ReadCategory(cursor, ref reader);
            if (!byId.TryGetValue(category.Id, out Category? first))
                byId.Add(category.Id, category);
            else if (first != category)
                Issues.Add(CorpusIssueKind.ConflictingCategory,
                    $"{Path.GetFileName(path)} byte {offset}: category {category.Id} \"{category.Name}\" ({category.Supercategory}) " +
                    $"differs from the first definition \"{first.Name}\" ({first.Supercategory}); the first is kept");
        }
    }

    private string LabelFilePath(string split) => Path.Combine(Root, LabelFileName(split));

    /// <summary>The release's image file of a split: train2017.json, val2017.json or test2017.json.</summary>
    public static string LabelFileName(string split) => CanonicalSplit(split) switch
    {
        Splits.Train => TrainFileName,
        Splits.Val => ValFileName,
        _ => TestFileName,
    };

    private string? BoxFilePath(string split) => split switch
    {
        Splits.Train => Path.Combine(Root, TrainBoxesFileName),
        Splits.Val => Path.Combine(Root, ValBoxesFileName),
        _ => null,
    };

    private static string CanonicalSplit(string split) => split switch
    {
        Splits.Train => Splits.Train,
        Splits.Val => Splits.Val,
        Splits.Test => Splits.Test,
        _ => throw new ArgumentException($"unknown split \"{split}\"; expected \"train\", \"val\" or \"test\"", nameof(split)),
    };
}
