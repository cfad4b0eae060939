namespace Pipeline.Corpus;

/// <summary>
/// The kinds of odd content the reader meets in a well-formed corpus file. Each is counted; all but
/// <see cref="ImageWithoutLabel"/>, <see cref="BoxCategoryDiffersFromLabel"/> and <see cref="ConflictingCategory"/>
/// drop the element they name (see <see cref="CorpusIssues.IsSkipped"/>).
/// </summary>
public enum CorpusIssueKind
{
    /// <summary>An image whose id was already seen in the same file: the later one is skipped.</summary>
    DuplicateImageId,
    /// <summary>An image whose file_name is empty, absolute, or has a ".." segment: skipped, never opened.</summary>
    UnsafeFileName,
    /// <summary>An image whose width or height is zero or negative: skipped.</summary>
    NonPositiveImageSize,
    /// <summary>An annotation whose id was already seen in the same file: the later one is skipped.</summary>
    DuplicateAnnotationId,
    /// <summary>A label annotation naming an image id absent from its file: skipped.</summary>
    LabelForMissingImage,
    /// <summary>A label annotation naming a category id absent from every corpus file: skipped.</summary>
    LabelForMissingCategory,
    /// <summary>A second label annotation for one image (the release has one label per image): skipped, the first wins.</summary>
    ExtraLabel,
    /// <summary>A train or val image without a label annotation: kept, yielded with CategoryId -1.</summary>
    ImageWithoutLabel,
    /// <summary>A box naming an image id absent from its split's image file: skipped.</summary>
    BoxForMissingImage,
    /// <summary>A box naming a category id absent from every corpus file: skipped.</summary>
    BoxForMissingCategory,
    /// <summary>A box whose width or height is zero or negative: skipped.</summary>
    NonPositiveBoxSize,
    /// <summary>A box reaching outside its image by more than the tolerance: skipped.</summary>
    BoxOutsideImage,
    /// <summary>A box whose category differs from its image's label: kept (it still locates an object).</summary>
    BoxCategoryDiffersFromLabel,
    /// <summary>A category id defined twice with different name or super-class: the first definition is kept.</summary>
    ConflictingCategory,
}

/// <summary>One sample message of an issue, naming the file, the element and what is wrong.</summary>
public readonly record struct CorpusIssue(CorpusIssueKind Kind, string Message);

/// <summary>
/// Counts of the odd content a <see cref="CorpusReader"/> met, per kind, and the first few messages of each kind.
/// Safe to read from another thread while the reader runs.
/// </summary>
public sealed class CorpusIssues
{
    private static readonly CorpusIssueKind[] AllKinds = Enum.GetValues<CorpusIssueKind>();
    private readonly long[] _counts = new long[AllKinds.Length];
    private readonly List<CorpusIssue> _samples = new();
    private readonly int _maxSamplesPerKind;
    private readonly Lock _gate = new();

    public CorpusIssues(int maxSamplesPerKind = 5)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxSamplesPerKind);
        _maxSamplesPerKind = maxSamplesPerKind;
    }

    /// <summary>Every kind, in declaration order (the order reports list them in).</summary>
    public static IReadOnlyList<CorpusIssueKind> Kinds => AllKinds;

    /// <summary>True when an issue of this kind drops the element it names; false when the element is kept.</summary>
    public static bool IsSkipped(CorpusIssueKind kind) =>
        kind is not (CorpusIssueKind.ImageWithoutLabel or CorpusIssueKind.BoxCategoryDiffersFromLabel
            or CorpusIssueKind.ConflictingCategory);

    /// <summary>The stable snake_case code of a kind, used in JSON reports.</summary>
    public static string Code(CorpusIssueKind kind) => kind switch
    {
        CorpusIssueKind.DuplicateImageId => "duplicate_image_id",
        CorpusIssueKind.UnsafeFileName => "unsafe_file_name",
        CorpusIssueKind.NonPositiveImageSize => "non_positive_image_size",
        CorpusIssueKind.DuplicateAnnotationId => "duplicate_annotation_id",
        CorpusIssueKind.LabelForMissingImage => "label_for_missing_image",
        CorpusIssueKind.LabelForMissingCategory => "label_for_missing_category",
        CorpusIssueKind.ExtraLabel => "extra_label",
        CorpusIssueKind.ImageWithoutLabel => "image_without_label",
        CorpusIssueKind.BoxForMissingImage => "box_for_missing_image",
        CorpusIssueKind.BoxForMissingCategory => "box_for_missing_category",
        CorpusIssueKind.NonPositiveBoxSize => "non_positive_box_size",
        CorpusIssueKind.BoxOutsideImage => "box_outside_image",
        CorpusIssueKind.BoxCategoryDiffersFromLabel => "box_category_differs_from_label",
        CorpusIssueKind.ConflictingCategory => "conflicting_category",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>How many issues of this kind were met.</summary>
    public long Count(CorpusIssueKind kind)
    {
        lock (_gate)
            return _counts[(int)kind];
    }

    /// <summary>All issues met, of every kind.</summary>
    public long Total
    {
        get
        {
            lock (_gate)
            {
                long total = 0;
                foreach (long count in _counts)
                    total += count;
                return total;
            }
        }
    }

    /// <summary>Elements dropped because of an issue (the kinds for which <see cref="IsSkipped"/> holds).</summary>
    public long Skipped
    {
        get
        {
            lock (_gate)
            {
                long skipped = 0;
                for (int i = 0; i < _counts.Length; i++)
                    if (IsSkipped(AllKinds[i]))
                        skipped += _counts[i];
                return skipped;
            }
        }
    }

    /// <summary>The first messages of each kind (at most the per-kind limit), in the order they were met.</summary>
    public IReadOnlyList<CorpusIssue> Samples
    {
        get
        {
            lock (_gate)
                return _samples.ToArray();
        }
    }

    internal void Add(CorpusIssueKind kind, string message)
    {
        lock (_gate)
        {
            long seen = _counts[(int)kind]++;
            if (seen < _maxSamplesPerKind)
                _samples.Add(new CorpusIssue(kind, message));
        }
    }
}
