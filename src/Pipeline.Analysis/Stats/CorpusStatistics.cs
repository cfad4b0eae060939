using Pipeline.Corpus;

namespace Pipeline.Analysis.Stats;

/// <summary>
/// Computes <see cref="StatsReport"/> from a corpus's JSON files alone, streaming each split once through the
/// reader: memory holds per-class counters and one float per box (for exact size quantiles), never the images.
/// </summary>
public static class CorpusStatistics
{
    /// <summary>Relative box sizes below this are "small" (the box's side under a tenth of the image's).</summary>
    public const double SmallBelow = 0.1;

    /// <summary>Relative box sizes from this up are "large"; between the two they are "medium".</summary>
    public const double LargeFrom = 0.3;

    /// <summary>Figure 4's histogram: this many bins of equal width over [0, 1).</summary>
    public const int HistogramBins = 20;

    /// <summary>Name of the box-size row that holds every box.</summary>
    public const string AllSupercategories = "all";

    /// <summary>Reads every split of the corpus and summarizes it; the reader's issues are those met while reading.</summary>
    public static StatsReport Compute(CorpusReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var tally = new CorpusTally(reader.Categories);
        foreach (CorpusImage image in reader.ReadImages(Splits.Train))
            tally.Add(image);
        foreach (CorpusImage image in reader.ReadImages(Splits.Val))
            tally.Add(image);
        foreach (CorpusImage image in reader.ReadImages(Splits.Test))
            tally.Add(image);
        return tally.ToReport(reader.Root, reader.Issues);
    }

    /// <summary>
    /// The value at quantile <paramref name="level"/> of sorted values, interpolating linearly between neighbours
    /// (NumPy's default, Hyndman-Fan type 7).
    /// </summary>
    public static double Quantile(ReadOnlySpan<double> sorted, double level)
    {
        if (sorted.IsEmpty)
            throw new ArgumentException("no values", nameof(sorted));
        double position = (sorted.Length - 1) * level;
        int below = (int)Math.Floor(position);
        if (below >= sorted.Length - 1)
            return sorted[^1];
        return sorted[below] + (position - below) * (sorted[below + 1] - sorted[below]);
    }

    internal static Quantiles? QuantilesOf(ReadOnlySpan<double> sorted)
    {
        if (sorted.IsEmpty)
            return null;
        return new Quantiles(
            Round6(sorted[0]), Round6(Quantile(sorted, 0.10)), Round6(Quantile(sorted, 0.25)),
            Round6(Quantile(sorted, 0.50)), Round6(Quantile(sorted, 0.75)), Round6(Quantile(sorted, 0.90)),
            Round6(Quantile(sorted, 0.99)), Round6(sorted[^1]));
    }

    /// <summary>Six decimals hide float noise (sizes are stored as float) and are finer than any figure needs.</summary>
    internal static double Round6(double value) => Math.Round(value, 6, MidpointRounding.AwayFromZero);

    /// <summary>Relative box size, the paper's Figure 4: sqrt(w_box*h_box)/sqrt(w_img*h_img).</summary>
    public static double RelativeSize(in BoxAnnotation box, int imageWidth, int imageHeight) =>
        Math.Sqrt(box.Width * box.Height / ((double)imageWidth * imageHeight));
}
