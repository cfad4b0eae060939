namespace Pipeline.Synth;

/// <summary>A box in image pixels, origin top-left (the release's [x, y, width, height]).</summary>
internal readonly record struct PixelBox(int X, int Y, int Width, int Height);

/// <summary>How many boxes an image gets, and where and how big they are.</summary>
internal static class BoxSampler
{
    /// <summary>Annotators boxed at most this many instances an image (paper, section 3).</summary>
    public const int MaxBoxesPerImage = 10;

    /// <summary>
    /// Median and log-spread of relative box size sqrt(w·h)/sqrt(W·H), read off the paper's Figure 4: most boxes small or
    /// medium, birds smallest, mammals and reptiles largest. Unboxed super-classes get values for drawing only.
    /// </summary>
    public static (double Median, double Sigma) RelativeSize(string superClass) => superClass switch
    {
        "Aves" => (0.21, 0.55),
        "Insecta" => (0.27, 0.55),
        "Arachnida" => (0.25, 0.55),
        "Animalia" => (0.28, 0.55),
        "Mollusca" => (0.30, 0.50),
        "Amphibia" => (0.32, 0.50),
        "Actinopterygii" => (0.34, 0.50),
        "Reptilia" => (0.37, 0.50),
        "Mammalia" => (0.39, 0.50),
        _ => (0.40, 0.45),
    };

    /// <summary>One box of an image with <paramref name="instances"/> boxes; more instances each take less of the frame.</summary>
    public static PixelBox Sample(ref SynthRandom random, (double Median, double Sigma) size, int instances, int width, int height)
    {
        double relative = size.Median * Math.Exp(size.Sigma * random.NextGaussian()) * Math.Pow(instances, -0.35);
        relative = Math.Clamp(relative, 0.02, 0.95);
        double side = relative * Math.Sqrt((double)width * height);
        double aspect = Math.Exp(0.3 * random.NextGaussian());
        int boxWidth = Math.Clamp((int)Math.Round(side * Math.Sqrt(aspect)), 1, width);
        int boxHeight = Math.Clamp((int)Math.Round(side / Math.Sqrt(aspect)), 1, height);
        int x = random.NextInt(width - boxWidth + 1);
        int y = random.NextInt(height - boxHeight + 1);
        return new PixelBox(x, y, boxWidth, boxHeight);
    }

    /// <summary>
    /// Boxes per image for the images of one super-class, summing exactly to <paramref name="boxes"/>: 1..10 each,
    /// a truncated geometric spread (most images one instance). Where Table 2 gives fewer boxes than images (Arachnida),
    /// that many images get one box and the rest none.
    /// </summary>
    public static int[] AllocateCounts(ReadOnlySpan<long> imageIds, int boxes, int seed, int superClassIndex)
    {
        int n = imageIds.Length;
        var counts = new int[n];
        if (n == 0 || boxes <= 0) return counts;
        if (boxes > n * MaxBoxesPerImage)
            throw new ArgumentOutOfRangeException(nameof(boxes), $"{boxes} boxes cannot go on {n} images at {MaxBoxesPerImage} at most each.");

        int floor = boxes >= n ? 1 : 0;
        Span<double> cumulative = stackalloc double[MaxBoxesPerImage];
        CumulativeTruncatedGeometric(Math.Max(1.0, (double)boxes / n), cumulative);
        long sum = 0;
        for (int i = 0; i < n; i++)
        {
            var random = SynthRandom.For(seed, imageIds[i], RandomStreams.BoxCount);
            double u = random.NextDouble();
            int k = 1;
            while (k < MaxBoxesPerImage && u >= cumulative[k - 1]) k++;
            counts[i] = k;
            sum += k;
        }

        // exact totals: nudge randomly chosen images one box at a time (about sqrt(n) steps)
        var adjust = SynthRandom.For(seed, superClassIndex, RandomStreams.BoxAdjust);
        while (sum > boxes)
        {
            int i = adjust.NextInt(n);
            if (counts[i] > floor) { counts[i]--; sum--; }
        }

        while (sum < boxes)
        {
            int i = adjust.NextInt(n);
            if (counts[i] < MaxBoxesPerImage) { counts[i]++; sum++; }
        }

        return counts;
    }

    /// <summary>P(k) ∝ ratio^(k-1) on 1..10 with the ratio solved for the wanted mean.</summary>
    private static void CumulativeTruncatedGeometric(double mean, Span<double> cumulative)
    {
        double lo = 0, hi = 50;
        for (int iteration = 0; iteration < 100; iteration++)
        {
            double mid = 0.5 * (lo + hi);
            if (TruncatedGeometricMean(mid) < mean) lo = mid;
            else hi = mid;
        }

        double ratio = 0.5 * (lo + hi), weight = 1, total = 0;
        for (int k = 0; k < cumulative.Length; k++)
        {
            total += weight;
            cumulative[k] = total;
            weight *= ratio;
        }

        for (int k = 0; k < cumulative.Length; k++) cumulative[k] /= total;
    }

    private static double TruncatedGeometricMean(double ratio)
    {
        double weight = 1, total = 0, weighted = 0;
        for (int k = 1; k <= MaxBoxesPerImage; k++)
        {
            total += weight;
            weighted += k * weight;
            weight *= ratio;
        }

        return weighted / total;
    }
}
