namespace Pipeline.Synth;

/// <summary>Image sizes: longest side at most the release's 800 px (most exactly at it), camera aspect ratios.</summary>
internal static class ImageFrame
{
    // (long side, short side, cumulative share): mostly 4:3 landscape and 3:4 portrait, as phone photos are
    private static readonly (int Long, int Short, bool Portrait, double Cumulative)[] Aspects =
    [
        (4, 3, false, 0.42),
        (4, 3, true, 0.66),
        (1, 1, false, 0.74),
        (3, 2, false, 0.84),
        (3, 2, true, 0.89),
        (16, 9, false, 0.97),
        (16, 9, true, 1.00),
    ];

    /// <summary>Share of images whose longest side is exactly the maximum (the rest were smaller uploads).</summary>
    private const double AtMaxSide = 0.9;

    public static (int Width, int Height) Sample(ref SynthRandom random, int maxSide)
    {
        double pick = random.NextDouble();
        int a = 0;
        while (a < Aspects.Length - 1 && pick >= Aspects[a].Cumulative) a++;

        int longSide = random.NextDouble() < AtMaxSide ? maxSide : maxSide / 2 + random.NextInt(maxSide - maxSide / 2);
        int shortSide = Math.Max(1, (int)Math.Round((double)longSide * Aspects[a].Short / Aspects[a].Long));
        return Aspects[a].Portrait ? (shortSide, longSide) : (longSide, shortSide);
    }
}
