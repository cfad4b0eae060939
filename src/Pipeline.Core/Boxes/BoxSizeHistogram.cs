using System.Text.Json.Serialization;

namespace Pipeline.Boxes;

/// <summary>
/// Distribution of relative box sizes sqrt(w·h)/sqrt(W·H) (the paper's Figure 4) in 50 equal bins over [0, 1]:
/// bin i holds [i/50, (i+1)/50), and 1.0 (a box filling the image) goes in the last bin. Mergeable: merge is
/// associative and commutative, exactly, so partitions can be combined in any order. The sum is kept in fixed
/// point (units of 1e-9) because floating-point addition is not associative.
/// Plain public properties, so System.Text.Json writes it as arrays of longs and doubles.
/// </summary>
public sealed class BoxSizeHistogram : IEquatable<BoxSizeHistogram>
{
    public const int BinCount = 50;

    /// <summary>Units of <see cref="SumNanos"/> per 1.0 of relative size.</summary>
    public const double NanosPerUnit = 1e9;

    private readonly long[] _counts;

    public BoxSizeHistogram()
    {
        _counts = new long[BinCount];
    }

    /// <summary>Rebuilds a histogram from its serialised form, checking that the parts agree.</summary>
    [JsonConstructor]
    public BoxSizeHistogram(long[] counts, long count, long sumNanos, double min, double max)
    {
        ArgumentNullException.ThrowIfNull(counts);
        if (counts.Length != BinCount)
            throw new ArgumentException($"a box size histogram has {BinCount} bins, not {counts.Length}", nameof(counts));
        long total = 0;
        foreach (long c in counts)
        {
            if (c < 0) throw new ArgumentException("bin counts cannot be negative", nameof(counts));
            total += c;
        }
        if (total != count)
            throw new ArgumentException($"bin counts add up to {total} but count is {count}", nameof(count));
        if (count > 0 && !(min >= 0 && min <= max && max <= 1))
            throw new ArgumentException($"min {min} and max {max} must satisfy 0 <= min <= max <= 1", nameof(min));
        if (sumNanos < 0)
            throw new ArgumentException("the sum cannot be negative", nameof(sumNanos));
        _counts = (long[])counts.Clone();
        Count = count;
        SumNanos = sumNanos;
        Min = count > 0 ? min : 0;
        Max = count > 0 ? max : 0;
    }

    /// <summary>Boxes per bin, a copy; bin i covers [<see cref="BinLow"/>(i), <see cref="BinHigh"/>(i)).</summary>
    public long[] Counts => (long[])_counts.Clone();

    /// <summary>Boxes in one bin, without copying the array.</summary>
    public long CountIn(int bin) => _counts[bin];

    public long Count { get; private set; }

    /// <summary>Sum of relative sizes in units of 1e-9 (fixed point, exact to merge).</summary>
    public long SumNanos { get; private set; }

    /// <summary>Smallest relative size seen; 0 while empty.</summary>
    public double Min { get; private set; }

    /// <summary>Largest relative size seen; 0 while empty.</summary>
    public double Max { get; private set; }

    [JsonIgnore]
    public double Sum => SumNanos / NanosPerUnit;

    [JsonIgnore]
    public double Mean => Count == 0 ? 0 : Sum / Count;

    public static double BinLow(int bin) => (double)bin / BinCount;

    public static double BinHigh(int bin) => (double)(bin + 1) / BinCount;

    /// <summary>The bin of <paramref name="relativeSize"/>, consistent with <see cref="BinLow"/>/<see cref="BinHigh"/> at the edges.</summary>
    public static int BinOf(double relativeSize)
    {
        if (relativeSize >= 1) return BinCount - 1;
        int bin = (int)(relativeSize * BinCount);
        if (bin > 0 && relativeSize < BinLow(bin)) bin--;
        else if (bin < BinCount - 1 && relativeSize >= BinLow(bin + 1)) bin++;
        return bin;
    }

    /// <summary>Counts one box. Values over 1 go in the last bin as 1; negative or NaN values are a caller bug.</summary>
    public void Add(double relativeSize)
    {
        if (double.IsNaN(relativeSize) || relativeSize < 0)
            throw new ArgumentOutOfRangeException(nameof(relativeSize), relativeSize, "a relative box size is in [0, 1]");
        if (relativeSize > 1) relativeSize = 1;
        relativeSize += 0.0; // -0.0 becomes 0.0, so equal histograms print and hash alike
        _counts[BinOf(relativeSize)]++;
        SumNanos += (long)Math.Round(relativeSize * NanosPerUnit);
        if (Count == 0)
        {
            Min = relativeSize;
            Max = relativeSize;
        }
        else
        {
            if (relativeSize < Min) Min = relativeSize;
            if (relativeSize > Max) Max = relativeSize;
        }
        Count++;
    }

    /// <summary>Adds <paramref name="other"/>'s boxes into this one.</summary>
    public void MergeFrom(BoxSizeHistogram other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.Count == 0) return;
        for (int i = 0; i < BinCount; i++)
            _counts[i] += other._counts[i];
        SumNanos += other.SumNanos;
        if (Count == 0)
        {
            Min = other.Min;
            Max = other.Max;
        }
        else
        {
            Min = Math.Min(Min, other.Min);
            Max = Math.Max(Max, other.Max);
        }
        Count += other.Count;
    }

    /// <summary>A new histogram holding the boxes of both; neither input changes.</summary>
    public static BoxSizeHistogram Merge(BoxSizeHistogram left, BoxSizeHistogram right)
    {
        var merged = left.Clone();
        merged.MergeFrom(right);
        return merged;
    }

    public BoxSizeHistogram Clone() => new(_counts, Count, SumNanos, Min, Max);

    public bool Equals(BoxSizeHistogram? other) =>
        other is not null && Count == other.Count && SumNanos == other.SumNanos
        && Min.Equals(other.Min) && Max.Equals(other.Max) && _counts.AsSpan().SequenceEqual(other._counts);

    public override bool Equals(object? obj) => Equals(obj as BoxSizeHistogram);

    public override int GetHashCode() => HashCode.Combine(Count, SumNanos, Min, Max);

    public override string ToString() => $"BoxSizeHistogram(count {Count}, mean {Mean:F4}, min {Min:F4}, max {Max:F4})";
}
