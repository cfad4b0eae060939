namespace Pipeline.Synth;

/// <summary>Integer shares that sum exactly to a total (largest-remainder rounding, ties to the lower index).</summary>
internal static class Apportion
{
    /// <summary>Rounds non-negative real shares whose sum is <paramref name="total"/> to integers with that exact sum.</summary>
    public static int[] RoundPreservingSum(ReadOnlySpan<double> exact, long total)
    {
        int n = exact.Length;
        var result = new int[n];
        var fractions = new double[n];
        var order = new int[n];
        long floorSum = 0;
        for (int i = 0; i < n; i++)
        {
            double floor = Math.Floor(exact[i]);
            result[i] = (int)floor;
            fractions[i] = exact[i] - floor;
            order[i] = i;
            floorSum += result[i];
        }

        long remainder = total - floorSum;
        if (remainder < 0 || remainder > n)
            throw new InvalidOperationException($"Shares summing to {floorSum} cannot be rounded to {total}.");

        // deterministic: fraction descending, then index ascending (a total order, so the sort result is unique)
        Array.Sort(order, (a, b) => fractions[a] != fractions[b] ? fractions[b].CompareTo(fractions[a]) : a.CompareTo(b));
        for (int k = 0; k < remainder; k++) result[order[k]]++;
        return result;
    }

    /// <summary>
    /// Splits <paramref name="total"/> into shares of at least <paramref name="minimum"/> each, the rest in proportion
    /// to <paramref name="weights"/> (equally where all weights are zero).
    /// </summary>
    public static int[] Proportional(long total, ReadOnlySpan<double> weights, int minimum)
    {
        int n = weights.Length;
        long spare = total - (long)n * minimum;
        if (n == 0 || spare < 0)
            throw new ArgumentOutOfRangeException(nameof(total), $"{total} cannot give {n} shares of at least {minimum}.");

        double weightSum = 0;
        foreach (double w in weights) weightSum += w;

        var exact = new double[n];
        for (int i = 0; i < n; i++)
        {
            double share = weightSum > 0 ? spare * (weights[i] / weightSum) : (double)spare / n;
            exact[i] = minimum + share;
        }

        return RoundPreservingSum(exact, total);
    }
}
