namespace Pipeline.Synth;

/// <summary>
/// SplitMix64: a tiny, fast, deterministic generator. Every image gets its own instance seeded from
/// (corpus seed, image id, purpose), so results never depend on thread count or scheduling order.
/// </summary>
internal struct SynthRandom
{
    private ulong _state;

    public SynthRandom(ulong seed) => _state = seed;

    /// <summary>Streams keep the draws of different purposes for one image independent of each other.</summary>
    public static SynthRandom For(int seed, long key, ulong stream) =>
        new(Mix(Mix((ulong)(uint)seed * 0xD1B54A32D192ED03UL ^ stream) ^ (ulong)key));

    /// <summary>The SplitMix64 finaliser (Stafford variant 13): a bijective 64-bit hash.</summary>
    public static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public ulong NextUInt64()
    {
        _state += 0x9E3779B97F4A7C15UL;
        ulong z = _state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1) with 53 bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [0, n) for n &gt; 0 (multiply-shift: no modulo bias worth measuring at 32 bits).</summary>
    public int NextInt(int n) => (int)(((NextUInt64() >> 32) * (ulong)n) >> 32);

    /// <summary>Uniform in [lo, hi).</summary>
    public double NextDouble(double lo, double hi) => lo + (hi - lo) * NextDouble();

    /// <summary>Standard normal by Box-Muller (one value per call; the second is dropped to keep the state simple).</summary>
    public double NextGaussian()
    {
        double u1 = 1.0 - NextDouble();
        double u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}

/// <summary>The purposes a per-image random stream is drawn for.</summary>
internal static class RandomStreams
{
    public const ulong Species = 0x5EC1E5;
    public const ulong Frame = 0xF4A3E;
    public const ulong FileName = 0xF11E;
    public const ulong BoxCount = 0xB0C0;
    public const ulong BoxGeometry = 0xB06E0;
    public const ulong BoxAdjust = 0xB0AD;
    public const ulong Pixels = 0x91CE15;
    public const ulong TestLabel = 0x7E57;
}
