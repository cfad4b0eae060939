using Pipeline.Corpus;

namespace Pipeline.Analysis.Stats;

/// <summary>Running counters of <see cref="CorpusStatistics"/>, fed one image at a time.</summary>
internal sealed class CorpusTally
{
    private readonly IReadOnlyList<Category> _categories;
    private readonly Dictionary<int, int> _categoryIndex;     // category id -> index in _categories
    private readonly int[] _supercategoryOf;                  // by category index
    private readonly List<string> _supercategories = new();
    private readonly int[] _classesOf;                        // by super-class index
    private readonly long[] _trainImagesOfClass;              // by category index
    private readonly long[] _trainImages, _valImages, _trainBoxes, _valBoxes;   // by super-class index
    private readonly BoxSizeTally[] _boxSizes;                // by super-class index
    private readonly BoxSizeTally _unlabelledBoxSizes = new();
    private long _trainTotal, _valTotal, _testTotal, _unlabelledTrain, _unlabelledVal, _trainBoxesTotal, _valBoxesTotal;

    public CorpusTally(IReadOnlyList<Category> categories)
    {
        _categories = categories;
        _categoryIndex = new Dictionary<int, int>(categories.Count);
        _supercategoryOf = new int[categories.Count];
        var supercategoryIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < categories.Count; i++)
        {
            _categoryIndex[categories[i].Id] = i;
            if (!supercategoryIndex.TryGetValue(categories[i].Supercategory, out int super))
            {
                super = _supercategories.Count;
                supercategoryIndex.Add(categories[i].Supercategory, super);
                _supercategories.Add(categories[i].Supercategory);
            }
            _supercategoryOf[i] = super;
        }
        int supers = _supercategories.Count;
        _classesOf = new int[supers];
        foreach (int super in _supercategoryOf)
            _classesOf[super]++;
        _trainImagesOfClass = new long[categories.Count];
        _trainImages = new long[supers];
        _valImages = new long[supers];
        _trainBoxes = new long[supers];
        _valBoxes = new long[supers];
        _boxSizes = new BoxSizeTally[supers];
        for (int s = 0; s < supers; s++)
            _boxSizes[s] = new BoxSizeTally();
    }

    public void Add(CorpusImage image)
    {
        bool train = image.Split == Splits.Train;
        if (image.Split == Splits.Test)
        {
            _testTotal++;
            return;
        }
        if (train)
        {
            _trainTotal++;
            _trainBoxesTotal += image.Boxes.Length;
        }
        else
        {
            _valTotal++;
            _valBoxesTotal += image.Boxes.Length;
        }

        BoxSizeTally sizes;
        if (_categoryIndex.TryGetValue(image.CategoryId, out int category))
        {
            int super = _supercategoryOf[category];
            if (train)
            {
                _trainImagesOfClass[category]++;
                _trainImages[super]++;
                _trainBoxes[super] += image.Boxes.Length;
            }
            else
            {
                _valImages[super]++;
                _valBoxes[super] += image.Boxes.Length;
            }
            sizes = _boxSizes[super];
        }
        else
        {
            // The reader yields only known categories or -1, the unlabelled marker.
            if (train)
                _unlabelledTrain++;
            else
                _unlabelledVal++;
            sizes = _unlabelledBoxSizes;
        }
        foreach (BoxAnnotation box in image.Boxes)
            sizes.Add(CorpusStatistics.RelativeSize(box, image.Width, image.Height));
    }

    public StatsReport ToReport(string corpus, CorpusIssues issues)
    {
        var images = new ImageTotals(_trainTotal, _valTotal, _testTotal, _unlabelledTrain, _unlabelledVal,
            _trainBoxesTotal, _valBoxesTotal);
        (ImbalanceFigures imbalance, ClassDistribution distribution) = ClassFigures();
        (List<SuperclassRow> rows, SuperclassRow total) = Table2();
        return new StatsReport(corpus, images, imbalance, rows, total, distribution, BoxSizeRows(rows), Summarize(issues));
    }

    private (ImbalanceFigures, ClassDistribution) ClassFigures()
    {
        int largest = -1, smallest = -1, withImages = 0;
        long labelledTrain = 0;
        for (int i = 0; i < _trainImagesOfClass.Length; i++)
        {
            long count = _trainImagesOfClass[i];
            if (count == 0)
                continue;
            withImages++;
            labelledTrain += count;
            if (largest < 0 || count > _trainImagesOfClass[largest])
                largest = i;
            if (smallest < 0 || count < _trainImagesOfClass[smallest])
                smallest = i;
        }

        var counts = new double[withImages];
        int next = 0;
        foreach (long count in _trainImagesOfClass)
            if (count > 0)
                counts[next++] = count;
        Array.Sort(counts);
        int topClasses = (withImages + 99) / 100;   // ceil(1% of the classes)
        long topImages = 0;
        for (int i = 0; i < topClasses; i++)
            topImages += (long)counts[withImages - 1 - i];

        var imbalance = largest < 0
            ? new ImbalanceFigures(0, null, null, null)
            : new ImbalanceFigures(withImages, ClassCountOf(largest), ClassCountOf(smallest),
                Math.Round((double)_trainImagesOfClass[largest] / _trainImagesOfClass[smallest], 2, MidpointRounding.AwayFromZero));
        var distribution = new ClassDistribution(withImages, _categories.Count - withImages, topClasses, topImages,
            labelledTrain == 0 ? 0 : CorpusStatistics.Round6((double)topImages / labelledTrain),
            CorpusStatistics.QuantilesOf(counts));
        return (imbalance, distribution);
    }

    private ClassCount ClassCountOf(int index) =>
        new(_categories[index].Id, _categories[index].Name, _categories[index].Supercategory, _trainImagesOfClass[index]);

    /// <summary>Table 2's rows in the paper's order: most classes first, then most training images, then by name.</summary>
    private (List<SuperclassRow>, SuperclassRow) Table2()
    {
        var rows = new List<SuperclassRow>(_supercategories.Count);
        for (int s = 0; s < _supercategories.Count; s++)
            rows.Add(new SuperclassRow(_supercategories[s], _classesOf[s], _trainImages[s], _valImages[s],
                _trainBoxes[s], _valBoxes[s], _trainBoxes[s] + _valBoxes[s]));
        rows.Sort(static (a, b) =>
        {
            int byClasses = b.Classes.CompareTo(a.Classes);
            if (byClasses != 0)
                return byClasses;
            int byTrain = b.TrainImages.CompareTo(a.TrainImages);
            return byTrain != 0 ? byTrain : string.CompareOrdinal(a.Supercategory, b.Supercategory);
        });
        int classes = 0;
        long train = 0, val = 0, trainBoxes = 0, valBoxes = 0;
        foreach (SuperclassRow row in rows)
        {
            classes += row.Classes;
            train += row.TrainImages;
            val += row.ValImages;
            trainBoxes += row.TrainBoxes;
            valBoxes += row.ValBoxes;
        }
        return (rows, new SuperclassRow("Total", classes, train, val, trainBoxes, valBoxes, trainBoxes + valBoxes));
    }

    /// <summary>One box-size row per super-class, in Table 2's order, then the row of all boxes.</summary>
    private List<BoxSizeSummary> BoxSizeRows(List<SuperclassRow> table2Order)
    {
        var rows = new List<BoxSizeSummary>(table2Order.Count + 1);
        var all = new BoxSizeTally();
        foreach (SuperclassRow row in table2Order)
        {
            BoxSizeTally sizes = _boxSizes[_supercategories.IndexOf(row.Supercategory)];
            rows.Add(sizes.Summarize(row.Supercategory));
            all.AddAll(sizes);
        }
        all.AddAll(_unlabelledBoxSizes);
        rows.Add(all.Summarize(CorpusStatistics.AllSupercategories));
        return rows;
    }

    private static IssueSummary Summarize(CorpusIssues issues)
    {
        var counts = new List<IssueCount>(CorpusIssues.Kinds.Count);
        foreach (CorpusIssueKind kind in CorpusIssues.Kinds)
            counts.Add(new IssueCount(CorpusIssues.Code(kind), issues.Count(kind), CorpusIssues.IsSkipped(kind)));
        var samples = new List<IssueSample>();
        foreach (CorpusIssue sample in issues.Samples)
            samples.Add(new IssueSample(CorpusIssues.Code(sample.Kind), sample.Message));
        return new IssueSummary(issues.Total, issues.Skipped, counts, samples);
    }

    /// <summary>Relative sizes of a set of boxes: exact values (as float) for quantiles, counts for the bins.</summary>
    private sealed class BoxSizeTally
    {
        private readonly List<float> _sizes = new();
        private readonly long[] _bins = new long[CorpusStatistics.HistogramBins];
        private long _small, _medium, _large;

        public void Add(double relativeSize)
        {
            _sizes.Add((float)relativeSize);
            int bin = (int)(relativeSize * CorpusStatistics.HistogramBins);
            _bins[Math.Clamp(bin, 0, CorpusStatistics.HistogramBins - 1)]++;
            if (relativeSize < CorpusStatistics.SmallBelow)
                _small++;
            else if (relativeSize < CorpusStatistics.LargeFrom)
                _medium++;
            else
                _large++;
        }

        public void AddAll(BoxSizeTally other)
        {
            _sizes.AddRange(other._sizes);
            for (int i = 0; i < _bins.Length; i++)
                _bins[i] += other._bins[i];
            _small += other._small;
            _medium += other._medium;
            _large += other._large;
        }

        public BoxSizeSummary Summarize(string supercategory)
        {
            var sorted = new double[_sizes.Count];
            for (int i = 0; i < sorted.Length; i++)
                sorted[i] = _sizes[i];
            Array.Sort(sorted);
            var histogram = new List<HistogramBin>(_bins.Length);
            for (int i = 0; i < _bins.Length; i++)
                histogram.Add(new HistogramBin((double)i / _bins.Length, (double)(i + 1) / _bins.Length, _bins[i]));
            long boxes = sorted.Length;
            return new BoxSizeSummary(supercategory, boxes, CorpusStatistics.QuantilesOf(sorted),
                Share(_small, boxes), Share(_medium, boxes), Share(_large, boxes), histogram);
        }

        private static double Share(long part, long whole) => whole == 0 ? 0 : CorpusStatistics.Round6((double)part / whole);
    }
}
