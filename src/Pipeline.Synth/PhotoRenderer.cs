using System.Numerics;
using System.Runtime.CompilerServices;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.PixelFormats;

namespace Pipeline.Synth;

/// <summary>
/// Draws one planned picture into a reused pixel buffer and encodes it as JPEG: the super-class's habitat as background,
/// some clutter, and the species' organism in every annotated box (or once at a random place where none is annotated).
/// One instance per thread; every draw is seeded from (seed, image id), so output never depends on the thread.
/// </summary>
internal sealed class PhotoRenderer
{
    private readonly JpegEncoder _encoder;
    private readonly MemoryStream _jpeg = new(256 * 1024);
    private Rgb24[] _pixels = [];
    private float[] _coarseLattice = [], _midLattice = [], _fineLattice = [], _coarseRow = [], _midRow = [], _fineRow = [];

    // per image column: lattice cell and smoothstep weight of each octave, so the pixel loop only looks them up
    private int[] _coarseColumn = [], _midColumn = [], _fineColumn = [];
    private float[] _coarseWeight = [], _midWeight = [], _fineWeight = [];

    public PhotoRenderer(int quality) =>
        _encoder = new JpegEncoder { Quality = quality, ColorType = JpegColorType.YCbCrRatio420 };

    /// <summary>Encodes the planned image; the span is valid until the next call.</summary>
    public ReadOnlySpan<byte> EncodeJpeg(CorpusPlan plan, in PlannedImage image)
    {
        int pixelCount = image.Width * image.Height;
        if (_pixels.Length < pixelCount) _pixels = new Rgb24[pixelCount];
        Draw(plan, image, _pixels.AsSpan(0, pixelCount));

        _jpeg.SetLength(0);
        using (Image<Rgb24> picture = Image.WrapMemory(Configuration.Default, _pixels.AsMemory(0, pixelCount), image.Width, image.Height))
        {
            picture.SaveAsJpeg(_jpeg, _encoder);
        }

        return _jpeg.GetBuffer().AsSpan(0, (int)_jpeg.Length);
    }

    /// <summary>Fills every pixel of the picture (row-major, <c>Width</c> × <c>Height</c>).</summary>
    public void Draw(CorpusPlan plan, in PlannedImage image, Span<Rgb24> pixels)
    {
        int width = image.Width, height = image.Height;
        PlannedClass planned = plan.Classes[image.ClassIndex];
        var random = SynthRandom.For(plan.Options.Seed, image.Id, RandomStreams.Pixels);
        Habitat habitat = Habitat.For(planned.Species.Supercategory);

        // the light of this photo: exposure and colour cast shared by background and organism
        float exposure = (float)Math.Exp(0.12 * random.NextGaussian());
        var cast = new Vector3((float)(8 * random.NextGaussian()), (float)(8 * random.NextGaussian()), (float)(8 * random.NextGaussian()));
        float longSide = Math.Max(width, height);

        DrawBackground(pixels, width, height, habitat, exposure, cast, longSide, ref random);
        int clutter = habitat.Clutter + random.NextInt(4);
        for (int c = 0; c < clutter; c++) DrawClutter(pixels, width, height, habitat, exposure, cast, longSide, ref random);
        int strokes = habitat.Strokes == 0 ? 0 : habitat.Strokes / 2 + random.NextInt(habitat.Strokes);
        for (int s = 0; s < strokes; s++) DrawStroke(pixels, width, height, habitat, exposure, cast, longSide, ref random);

        SpeciesLook look = SpeciesLook.For(planned.Species.Id);
        float grain = habitat.Grain;
        if (image.BoxCount > 0)
        {
            for (int b = image.FirstBox; b < image.FirstBox + image.BoxCount; b++)
                DrawOrganism(pixels, width, height, plan.Boxes[b], look, exposure, cast, grain, ref random);
        }
        else
        {
            PixelBox unannotated = BoxSampler.Sample(ref random, BoxSampler.RelativeSize(planned.Species.Supercategory), 1, width, height);
            DrawOrganism(pixels, width, height, unannotated, look, exposure, cast, grain, ref random);
        }
    }

    private void DrawBackground(Span<Rgb24> pixels, int width, int height, Habitat habitat, float exposure, Vector3 cast, float longSide, ref SynthRandom random)
    {
        Vector3 top = Jitter(habitat.Top, exposure, cast, ref random);
        Vector3 bottom = Jitter(habitat.Bottom, exposure, cast, ref random);
        Vector3 blotch = Jitter(habitat.Blotch, exposure, cast, ref random);

        // value noise in three octaves: coarse 0..1 (where blotches are), mid and fine -1..1 (texture);
        // the mid cell is 2.7 fine cells so the two lattices never line up into visible squares
        float coarseCell = longSide / habitat.CoarseCells;
        float fineCell = Math.Max(2f, habitat.FineCellPixels * longSide / SynthOptions.DefaultMaxSide);
        float midCell = fineCell * 2.7f;
        int coarseColumns = PrepareOctave(ref _coarseLattice, ref _coarseColumn, ref _coarseWeight, ref _coarseRow, coarseCell, width, height, 0f, ref random);
        int midColumns = PrepareOctave(ref _midLattice, ref _midColumn, ref _midWeight, ref _midRow, midCell, width, height, -1f, ref random);
        int fineColumns = PrepareOctave(ref _fineLattice, ref _fineColumn, ref _fineWeight, ref _fineRow, fineCell, width, height, -1f, ref random);

        float strength = habitat.BlotchStrength, fineAmplitude = habitat.FineAmplitude, midAmplitude = habitat.FineAmplitude * 0.6f;
        // triangular grain from two bytes: sum - 255 spans -255..255
        float grainScale = habitat.Grain / 255f;
        float chromaScale = habitat.Grain / 96f;
        ulong noise = random.NextUInt64() | 1;
        Span<float> coarseRow = _coarseRow.AsSpan(0, coarseColumns), midRow = _midRow.AsSpan(0, midColumns), fineRow = _fineRow.AsSpan(0, fineColumns);
        ReadOnlySpan<int> coarseColumn = _coarseColumn.AsSpan(0, width), midColumn = _midColumn.AsSpan(0, width), fineColumn = _fineColumn.AsSpan(0, width);
        ReadOnlySpan<float> coarseWeight = _coarseWeight.AsSpan(0, width), midWeight = _midWeight.AsSpan(0, width), fineWeight = _fineWeight.AsSpan(0, width);
        for (int y = 0; y < height; y++)
        {
            float t = (y + 0.5f) / height;
            Vector3 rowColour = top + (bottom - top) * t;
            Vector3 towardBlotch = (blotch - rowColour) * strength;
            InterpolateRow(_coarseLattice, coarseColumns, y / coarseCell, coarseRow);
            InterpolateRow(_midLattice, midColumns, y / midCell, midRow);
            InterpolateRow(_fineLattice, fineColumns, y / fineCell, fineRow);
            Span<Rgb24> row = pixels.Slice(y * width, width);
            for (int x = 0; x < width; x++)
            {
                int ci = coarseColumn[x], mi = midColumn[x], fi = fineColumn[x];
                float coarse = Lerp(coarseRow[ci], coarseRow[ci + 1], coarseWeight[x]);
                float texture = Lerp(fineRow[fi], fineRow[fi + 1], fineWeight[x]) * fineAmplitude
                    + Lerp(midRow[mi], midRow[mi + 1], midWeight[x]) * midAmplitude;

                noise ^= noise << 13;
                noise ^= noise >> 7;
                noise ^= noise << 17;
                float luminance = texture + ((int)(noise & 0xFF) + (int)((noise >> 8) & 0xFF) - 255) * grainScale;
                float chromaRed = ((int)((noise >> 16) & 0x3F) - 32) * chromaScale;
                float chromaBlue = ((int)((noise >> 24) & 0x3F) - 32) * chromaScale;
                row[x] = new Rgb24(
                    ToByte(rowColour.X + towardBlotch.X * coarse + luminance + chromaRed),
                    ToByte(rowColour.Y + towardBlotch.Y * coarse + luminance),
                    ToByte(rowColour.Z + towardBlotch.Z * coarse + luminance + chromaBlue));
            }
        }
    }

    /// <summary>Fills one octave's random lattice (values lowest..1) and its per-column cell and weight; returns the lattice width.</summary>
    private static int PrepareOctave(ref float[] lattice, ref int[] columnCell, ref float[] columnWeight, ref float[] row, float cell, int width, int height, float lowest, ref SynthRandom random)
    {
        int columns = (int)(width / cell) + 2, rows = (int)(height / cell) + 2;
        EnsureCapacity(ref lattice, columns * rows);
        EnsureCapacity(ref row, columns);
        EnsureCapacity(ref columnWeight, width);
        if (columnCell.Length < width) columnCell = new int[width];

        float span = 1f - lowest;
        for (int i = 0; i < columns * rows; i++) lattice[i] = lowest + span * (float)random.NextDouble();
        for (int x = 0; x < width; x++)
        {
            float position = x / cell;
            int index = (int)position;
            columnCell[x] = index;
            columnWeight[x] = Smooth(position - index);
        }

        return columns;
    }

    /// <summary>A thin, slightly curved line: grass blade, twig, stem, fin ray. Gives the background photo-like edges.</summary>
    private static void DrawStroke(Span<Rgb24> pixels, int width, int height, Habitat habitat, float exposure, Vector3 cast, float longSide, ref SynthRandom random)
    {
        float x = (float)random.NextDouble(0, width), y = (float)random.NextDouble(0, height);
        float length = longSide * (float)random.NextDouble(0.05, 0.3);
        float angle = (float)random.NextDouble(0, 2 * Math.PI);
        float bend = (float)(0.004 * random.NextGaussian());
        int thickness = 1 + random.NextInt(3);
        Vector3 colour = Jitter((random.NextDouble() < 0.5 ? habitat.Bottom * 0.6f : habitat.Blotch * 1.15f), exposure, cast, ref random);
        var stroke = new Rgb24(ToByte(colour.X), ToByte(colour.Y), ToByte(colour.Z));
        for (float step = 0; step < length; step += 0.7f)
        {
            int px = (int)x, py = (int)y;
            for (int dy = 0; dy < thickness; dy++)
            {
                int yy = py + dy;
                if ((uint)yy >= (uint)height) continue;
                for (int dx = 0; dx < thickness; dx++)
                {
                    int xx = px + dx;
                    if ((uint)xx < (uint)width) pixels[yy * width + xx] = stroke;
                }
            }

            x += 0.7f * MathF.Cos(angle);
            y += 0.7f * MathF.Sin(angle);
            angle += bend;
        }
    }

    /// <summary>A soft-edged out-of-focus shape in habitat colours: leaves, stones, twigs that are not the subject.</summary>
    private static void DrawClutter(Span<Rgb24> pixels, int width, int height, Habitat habitat, float exposure, Vector3 cast, float longSide, ref SynthRandom random)
    {
        float radiusX = longSide * (float)random.NextDouble(0.03, 0.16);
        float radiusY = radiusX * (float)Math.Exp(0.6 * random.NextGaussian());
        float centreX = (float)random.NextDouble(0, width), centreY = (float)random.NextDouble(0, height);
        float pick = (float)random.NextDouble();
        Vector3 colour = pick < 0.4f ? habitat.Blotch : pick < 0.7f ? habitat.Bottom : habitat.Top;
        colour = Jitter(colour * (float)random.NextDouble(0.6, 1.25), exposure, cast, ref random);
        float opacity = (float)random.NextDouble(0.3, 0.8);

        int x0 = Math.Max(0, (int)(centreX - radiusX)), x1 = Math.Min(width, (int)(centreX + radiusX) + 1);
        int y0 = Math.Max(0, (int)(centreY - radiusY)), y1 = Math.Min(height, (int)(centreY + radiusY) + 1);
        float inverseX = 1f / radiusX, inverseY = 1f / Math.Max(1f, radiusY);
        for (int y = y0; y < y1; y++)
        {
            float v = (y + 0.5f - centreY) * inverseY;
            Span<Rgb24> row = pixels.Slice(y * width, width);
            for (int x = x0; x < x1; x++)
            {
                float u = (x + 0.5f - centreX) * inverseX;
                float distance = u * u + v * v;
                if (distance >= 1f) continue;
                float alpha = opacity * (1f - distance);
                Rgb24 old = row[x];
                row[x] = new Rgb24(
                    ToByte(old.R + (colour.X - old.R) * alpha),
                    ToByte(old.G + (colour.Y - old.G) * alpha),
                    ToByte(old.B + (colour.Z - old.B) * alpha));
            }
        }
    }

    /// <summary>The species' organism filling <paramref name="box"/>: outline touches the box, markings turn with the species' angle.</summary>
    private static void DrawOrganism(Span<Rgb24> pixels, int width, int height, PixelBox box, in SpeciesLook look, float exposure, Vector3 cast, float grain, ref SynthRandom random)
    {
        float angle = look.Angle + (float)(0.3 * random.NextGaussian());
        float frequency = look.Frequency * (float)random.NextDouble(0.85, 1.15);
        float phase = (float)random.NextDouble();
        float lobePhase = (float)random.NextDouble(0, 2 * Math.PI);
        Vector3 body = Jitter(look.Body, exposure, cast * 0.5f, ref random);
        Vector3 marking = Jitter(look.Marking, exposure, cast * 0.5f, ref random);
        Vector3 rim = Jitter(look.Rim, exposure, cast * 0.5f, ref random);
        float cos = MathF.Cos(angle), sin = MathF.Sin(angle);
        float centreX = box.X + box.Width * 0.5f, centreY = box.Y + box.Height * 0.5f;
        float inverseX = 2f / box.Width, inverseY = 2f / box.Height;
        float grainScale = grain / 255f;
        ulong noise = random.NextUInt64() | 1;

        int x1 = Math.Min(width, box.X + box.Width), y1 = Math.Min(height, box.Y + box.Height);
        for (int y = box.Y; y < y1; y++)
        {
            float v = (y + 0.5f - centreY) * inverseY;
            Span<Rgb24> row = pixels.Slice(y * width, width);
            for (int x = box.X; x < x1; x++)
            {
                float u = (x + 0.5f - centreX) * inverseX;
                float distance = ShapeDistance(look.Shape, u, v, look.Lobes, lobePhase);
                if (distance > 1f) continue;

                float pu = (u * cos - v * sin) * frequency + phase;
                float pv = (u * sin + v * cos) * frequency;
                Vector3 colour = distance > look.RimStart ? rim : Vector3.Lerp(body, marking, Marking(look.Pattern, pu, pv, look.Duty));
                // rounded body: darker toward the outline
                colour *= 1f - 0.3f * distance;
                noise ^= noise << 13;
                noise ^= noise >> 7;
                noise ^= noise << 17;
                float luminance = ((int)(noise & 0xFF) + (int)((noise >> 8) & 0xFF) - 255) * grainScale;
                row[x] = new Rgb24(ToByte(colour.X + luminance), ToByte(colour.Y + luminance), ToByte(colour.Z + luminance));
            }
        }
    }

    /// <summary>0 at the centre, 1 on the outline, above 1 outside; u, v are -1..1 across the box.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ShapeDistance(OrganismShape shape, float u, float v, int lobes, float lobePhase)
    {
        switch (shape)
        {
            case OrganismShape.Ellipse:
                return u * u + v * v;
            case OrganismShape.Diamond:
            {
                float d = MathF.Abs(u) + MathF.Abs(v);
                return d * d;
            }
            case OrganismShape.Squircle:
                return MathF.Sqrt(u * u * u * u + v * v * v * v);
            case OrganismShape.Star:
            {
                float radiusSquared = u * u + v * v;
                float reach = 0.72f + 0.28f * MathF.Cos(lobes * MathF.Atan2(v, u) + lobePhase);
                return radiusSquared / (reach * reach);
            }
            default:
            {
                // egg: narrower toward one end
                float w = 0.8f + 0.2f * v;
                return u * u / (w * w) + v * v;
            }
        }
    }

    /// <summary>Share of marking colour (0..1) at pattern coordinates (pu, pv).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Marking(MarkingPattern pattern, float pu, float pv, float duty)
    {
        switch (pattern)
        {
            case MarkingPattern.Stripes:
                return Fraction(pu) < duty ? 1f : 0f;
            case MarkingPattern.Spots:
            {
                float a = Fraction(pu) - 0.5f, b = Fraction(pv) - 0.5f;
                return a * a + b * b < duty * 0.25f ? 1f : 0f;
            }
            case MarkingPattern.Checks:
                return (((int)MathF.Floor(pu) + (int)MathF.Floor(pv)) & 1) == 0 ? 1f : 0f;
            case MarkingPattern.Rings:
                return Fraction(MathF.Sqrt(pu * pu + pv * pv)) < duty ? 1f : 0f;
            case MarkingPattern.Bands:
                return Triangle(pu);
            default:
                return Fraction(pu + 0.8f * Triangle(pv)) < duty ? 1f : 0f;
        }
    }

    private static Vector3 Jitter(Vector3 colour, float exposure, Vector3 cast, ref SynthRandom random) =>
        colour * exposure + cast + new Vector3((float)(6 * random.NextGaussian()), (float)(6 * random.NextGaussian()), (float)(6 * random.NextGaussian()));

    /// <summary>Vertical pass of the bilinear lattice interpolation for one pixel row.</summary>
    private static void InterpolateRow(float[] lattice, int columns, float latticeY, Span<float> row)
    {
        int iy = (int)latticeY;
        float fy = Smooth(latticeY - iy);
        ReadOnlySpan<float> upper = lattice.AsSpan(iy * columns, columns), lower = lattice.AsSpan((iy + 1) * columns, columns);
        for (int i = 0; i < columns; i++) row[i] = upper[i] + (lower[i] - upper[i]) * fy;
    }

    private static void EnsureCapacity(ref float[] buffer, int length)
    {
        if (buffer.Length < length) buffer = new float[length];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Smooth(float t) => t * t * (3f - 2f * t);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Lerp(float a, float b, float t) => a + (b - a) * t;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Fraction(float value) => value - MathF.Floor(value);

    /// <summary>Triangle wave 0..1..0 with period 1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Triangle(float value) => 1f - MathF.Abs(2f * Fraction(value) - 1f);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte ToByte(float value) => value <= 0f ? (byte)0 : value >= 255f ? (byte)255 : (byte)(value + 0.5f);
}
