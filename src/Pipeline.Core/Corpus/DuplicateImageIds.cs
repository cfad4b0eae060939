namespace Pipeline.Corpus;

/// <summary>
/// Finds image ids that occur more than once among the splits a job reads, while the images stream past the planner:
/// the dataset holds each image once, keyed by id, so a duplicate found at the merge would cost the whole run. Within
/// one file the reader already keeps the first image and counts the later one
/// (<see cref="CorpusIssueKind.DuplicateImageId"/>); across files (the same id in train and val) only this check sees it.
/// Memory: 4 bytes an id for the dense id runs of a release (<see cref="IdMap"/>).
/// </summary>
public sealed class DuplicateImageIds
{
    private const int MaxExamples = 5;
    private readonly IdMap _splitOf = new();
    private readonly List<string> _splits = [];
    private readonly List<string> _examples = [];

    /// <summary>Ids seen in more than one split so far.</summary>
    public long AcrossSplits { get; private set; }

    /// <summary>Passes the images through unchanged, remembering the split of each id.</summary>
    public IEnumerable<CorpusImage> Watch(IEnumerable<CorpusImage> images)
    {
        ArgumentNullException.ThrowIfNull(images);
        foreach (CorpusImage image in images)
        {
            Add(image);
            yield return image;
        }
    }

    public void Add(CorpusImage image)
    {
        int split = _splits.IndexOf(image.Split);
        if (split < 0)
        {
            split = _splits.Count;
            _splits.Add(image.Split);
        }
        if (_splitOf.TryAdd(image.Id, split) || !_splitOf.TryGetValue(image.Id, out int first))
            return;
        AcrossSplits++;
        if (_examples.Count < MaxExamples)
            _examples.Add($"image id {image.Id} is in {CorpusReader.LabelFileName(_splits[first])} ({_splits[first]}) " +
                          $"and again in {CorpusReader.LabelFileName(image.Split)} ({image.Split}, \"{image.FileName}\")");
    }

    /// <summary>
    /// Throws when any id occurred twice, here or within one file (as the reader counted in <paramref name="readerIssues"/>),
    /// with the count and examples naming the files; a job must not start on such a corpus.
    /// </summary>
    public void ThrowIfAny(string corpusRoot, CorpusIssues readerIssues)
    {
        ArgumentNullException.ThrowIfNull(readerIssues);
        long withinFiles = readerIssues.Count(CorpusIssueKind.DuplicateImageId);
        if (AcrossSplits == 0 && withinFiles == 0)
            return;
        var examples = new List<string>(_examples);
        foreach (CorpusIssue issue in readerIssues.Samples)
            if (issue.Kind == CorpusIssueKind.DuplicateImageId && examples.Count < 2 * MaxExamples)
                examples.Add(issue.Message);
        throw new InvalidDataException(
            $"corpus {corpusRoot}: {AcrossSplits + withinFiles} image id(s) occur more than once ({AcrossSplits} across splits, " +
            $"{withinFiles} within one file), so the dataset could not hold each image exactly once; nothing was processed. " +
            $"Give each image its own id and rerun. For example: {string.Join("; ", examples)}");
    }
}
