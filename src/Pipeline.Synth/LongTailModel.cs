namespace Pipeline.Synth;

/// <summary>
/// Per-class image counts of each super-class at scale 1, ordered by rank (largest class first). A Zipf-Mandelbrot
/// curve (r + q)^-s pinned to a head and a tail count, with s solved so each super-class sums exactly to Table 2:
/// the largest class (3,919, in the super-class with most images per class) and the smallest (9) are the paper's,
/// so the imbalance is 435.44 and the top 1% of classes hold about 17.5% of the training images (paper: over 16%).
/// </summary>
internal static class LongTailModel
{
    // head = 20x the super-class mean (capped): the factor that gives the paper's >16% top-1% share
    private const double HeadOverMean = 20.0;

    // tail = a tenth of the mean, never below the paper's smallest class
    private const double TailOverMean = 0.1;

    // Mandelbrot offset q: flattens the first ranks so several big classes share the head, as in the paper's Figure 2
    private const double MaxRankOffset = 10.0;

    private static readonly Lazy<RankCounts[]> Cache = new(BuildAll);

    /// <summary>Train and val images by rank for one super-class of the paper's Table 2 (same order as <see cref="PaperTable2.SuperClasses"/>).</summary>
    public static RankCounts ForSuperClass(int superClassIndex) => Cache.Value[superClassIndex];

    private static RankCounts[] BuildAll()
    {
        IReadOnlyList<SuperClassFacts> table = PaperTable2.SuperClasses;
        int largestHolder = 0;
        for (int k = 1; k < table.Count; k++)
        {
            if ((double)table[k].TrainImages / table[k].Classes > (double)table[largestHolder].TrainImages / table[largestHolder].Classes)
                largestHolder = k;
        }

        var all = new RankCounts[table.Count];
        for (int k = 0; k < table.Count; k++)
        {
            int[] train = TrainByRank(table[k], k == largestHolder);
            all[k] = new RankCounts(train, ValByRank(table[k], train));
        }

        return all;
    }

    internal static int[] TrainByRank(SuperClassFacts facts, bool holdsLargestClass)
    {
        int classes = facts.Classes;
        int total = facts.TrainImages;
        double mean = (double)total / classes;
        int tail = Math.Max(PaperTable2.SmallestTrainClass, RoundHalfUp(mean * TailOverMean));
        int head = holdsLargestClass
            ? PaperTable2.LargestTrainClass
            : Math.Min(PaperTable2.LargestTrainClass, Math.Min(RoundHalfUp(mean * HeadOverMean), Math.Max(RoundHalfUp(2 * mean), total / 5)));
        if (classes < 3)
            throw new ArgumentException($"{facts.Name}: the long-tail curve needs at least 3 classes, Table 2 gives {classes}.");

        double offset = Math.Min(MaxRankOffset, Math.Max(1.0, classes / 10.0));
        double exponent = SolveExponent(classes, total, head, tail, offset);
        var exact = new double[classes];
        FillCurve(exact, head, tail, exponent, offset);
        int[] counts = Apportion.RoundPreservingSum(exact, total);
        if (counts[0] != head || counts[classes - 1] != tail)
            throw new InvalidOperationException($"{facts.Name}: rounding moved the pinned head {head} or tail {tail}.");
        return counts;
    }

    /// <summary>Every class gets one val image, the rest follows sqrt(train): val sets are far less skewed than train.</summary>
    internal static int[] ValByRank(SuperClassFacts facts, int[] trainByRank)
    {
        var weights = new double[trainByRank.Length];
        for (int r = 0; r < weights.Length; r++) weights[r] = Math.Sqrt(trainByRank[r]);
        return Apportion.Proportional(facts.ValImages, weights, 1);
    }

    private static void FillCurve(Span<double> counts, int head, int tail, double exponent, double offset)
    {
        int n = counts.Length;
        if (Math.Abs(exponent) < 1e-9)
        {
            // the s -> 0 limit of the normalised power curve is logarithmic
            double logFirst = Math.Log(offset), logLast = Math.Log(n - 1 + offset);
            for (int r = 0; r < n; r++) counts[r] = tail + (head - tail) * ((logLast - Math.Log(r + offset)) / (logLast - logFirst));
            return;
        }

        double first = Math.Pow(offset, -exponent), last = Math.Pow(n - 1 + offset, -exponent);
        for (int r = 0; r < n; r++) counts[r] = tail + (head - tail) * ((Math.Pow(r + offset, -exponent) - last) / (first - last));
    }

    /// <summary>Bisection: the curve's sum falls monotonically as the exponent grows (negative exponents give a concave head).</summary>
    private static double SolveExponent(int classes, int total, int head, int tail, double offset)
    {
        double lo = -30, hi = 60;
        var buffer = new double[classes];
        if (Sum(buffer, head, tail, hi, offset) > total || Sum(buffer, head, tail, lo, offset) < total)
            throw new InvalidOperationException($"No long-tail curve from {head} down to {tail} over {classes} classes sums to {total}.");

        for (int iteration = 0; iteration < 200; iteration++)
        {
            double mid = 0.5 * (lo + hi);
            if (Sum(buffer, head, tail, mid, offset) > total) lo = mid;
            else hi = mid;
        }

        return 0.5 * (lo + hi);
    }

    private static double Sum(double[] buffer, int head, int tail, double exponent, double offset)
    {
        FillCurve(buffer, head, tail, exponent, offset);
        double sum = 0;
        foreach (double c in buffer) sum += c;
        return sum;
    }

    internal static int RoundHalfUp(double value) => (int)Math.Round(value, MidpointRounding.AwayFromZero);
}

/// <summary>Images per class by rank (index 0 = the largest training class) for one super-class.</summary>
internal sealed record RankCounts(int[] Train, int[] Val);
