using Pipeline.Storage;

namespace Pipeline.Analysis;

/// <summary>One species of the dataset and its dense training label.</summary>
public sealed record DatasetClass(int Label, int CategoryId, string Species, string Supercategory);

/// <summary>
/// The species of a dataset, from <c>class_counts.parquet</c>, numbered 0..Count-1 in ascending category id: the
/// label a training loop or a classifier uses. Every split shares the numbering, so train and val labels agree.
/// Unlabelled (test) rows carry category -1: they are no class and get label -1.
/// </summary>
public sealed class DatasetClasses
{
    private readonly Dictionary<int, int> _labelByCategory;

    private DatasetClasses(IReadOnlyList<DatasetClass> classes)
    {
        Classes = classes;
        _labelByCategory = new Dictionary<int, int>(classes.Count);
        foreach (DatasetClass c in classes)
            _labelByCategory[c.CategoryId] = c.Label;
    }

    /// <summary>Classes by label.</summary>
    public IReadOnlyList<DatasetClass> Classes { get; }

    public int Count => Classes.Count;

    public static DatasetClasses FromCounts(IReadOnlyList<ClassCountRow> counts)
    {
        var byCategory = new SortedDictionary<int, ClassCountRow>();
        foreach (ClassCountRow row in counts)
        {
            if (row.CategoryId < 0) continue;
            if (byCategory.TryGetValue(row.CategoryId, out ClassCountRow? seen) && seen.Supercategory != row.Supercategory)
                throw new InvalidDataException(
                    $"class_counts.parquet: category {row.CategoryId} is in super-classes {seen.Supercategory} and {row.Supercategory}");
            byCategory.TryAdd(row.CategoryId, row);
        }
        var classes = new List<DatasetClass>(byCategory.Count);
        foreach (ClassCountRow row in byCategory.Values)
            classes.Add(new DatasetClass(classes.Count, row.CategoryId, row.Species, row.Supercategory));
        return new DatasetClasses(classes);
    }

    public static async Task<DatasetClasses> ReadAsync(DatasetFolder dataset, CancellationToken cancellationToken = default) =>
        FromCounts(await StatisticsFiles.ReadClassCountsAsync(dataset.Require(dataset.ClassCountsPath), cancellationToken).ConfigureAwait(false));

    public bool TryGetLabel(int categoryId, out int label) => _labelByCategory.TryGetValue(categoryId, out label);

    /// <summary>
    /// The label of a category (-1 for an unlabelled image), or <see cref="InvalidDataException"/> when
    /// class_counts.parquet does not list it.
    /// </summary>
    public int LabelOf(int categoryId, long imageId) => categoryId < 0 ? -1
        : _labelByCategory.TryGetValue(categoryId, out int label) ? label
        : throw new InvalidDataException($"image {imageId}: category {categoryId} is not in class_counts.parquet");
}
