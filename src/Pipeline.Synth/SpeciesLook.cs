using System.Numerics;

namespace Pipeline.Synth;

/// <summary>Body outline of a drawn organism.</summary>
internal enum OrganismShape : byte
{
    Ellipse,
    Diamond,
    Squircle,
    Star,
    Egg,
}

/// <summary>Markings on a drawn organism.</summary>
internal enum MarkingPattern : byte
{
    Stripes,
    Spots,
    Checks,
    Rings,
    Bands,
    Zigzag,
}

/// <summary>
/// What every picture of one species has in common: body, marking and rim colours, outline, marking pattern, its
/// frequency and orientation. A function of the species id alone, so a species looks the same in every corpus and a
/// CNN can tell species apart; each picture then jitters colour, angle, scale and phase.
/// </summary>
internal readonly record struct SpeciesLook(
    Vector3 Body,
    Vector3 Marking,
    Vector3 Rim,
    OrganismShape Shape,
    MarkingPattern Pattern,
    float Frequency,
    float Angle,
    float Duty,
    int Lobes,
    float RimStart)
{
    public static SpeciesLook For(int speciesId)
    {
        var random = new SynthRandom(SynthRandom.Mix(0x5BEC1E5UL + (ulong)speciesId * 0x9E3779B97F4A7C15UL));
        float hue = (float)random.NextDouble();
        Vector3 body = FromHsv(hue, (float)random.NextDouble(0.35, 0.95), (float)random.NextDouble(0.35, 0.95));
        // markings contrast by hue or by value, depending on the species
        float markingHue = random.NextDouble() < 0.5 ? hue + (float)random.NextDouble(0.25, 0.75) : hue;
        float markingValue = random.NextDouble() < 0.5 ? (float)random.NextDouble(0.05, 0.3) : (float)random.NextDouble(0.75, 1.0);
        Vector3 marking = FromHsv(markingHue, (float)random.NextDouble(0.2, 1.0), markingValue);
        Vector3 rim = FromHsv((float)random.NextDouble(), (float)random.NextDouble(0.1, 0.8), (float)random.NextDouble(0.05, 0.9));
        return new SpeciesLook(
            body,
            marking,
            rim,
            (OrganismShape)random.NextInt(5),
            (MarkingPattern)random.NextInt(6),
            (float)random.NextDouble(1.2, 4.5),
            (float)random.NextDouble(0, Math.PI),
            (float)random.NextDouble(0.3, 0.6),
            3 + random.NextInt(5),
            (float)random.NextDouble(0.7, 0.95));
    }

    /// <summary>HSV (hue wraps, 0..1) to 0..255 RGB.</summary>
    private static Vector3 FromHsv(float hue, float saturation, float value)
    {
        hue -= MathF.Floor(hue);
        float h = hue * 6f;
        int sector = (int)h % 6;
        float f = h - MathF.Floor(h);
        float p = value * (1 - saturation), q = value * (1 - saturation * f), t = value * (1 - saturation * (1 - f));
        Vector3 rgb = sector switch
        {
            0 => new(value, t, p),
            1 => new(q, value, p),
            2 => new(p, value, t),
            3 => new(p, q, value),
            4 => new(t, p, value),
            _ => new(value, p, q),
        };
        return rgb * 255f;
    }
}
