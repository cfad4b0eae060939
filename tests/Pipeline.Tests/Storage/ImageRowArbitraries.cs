using FsCheck;
using FsCheck.Fluent;
using Pipeline.Schema;

namespace Pipeline.Tests.Storage;

/// <summary>Random rows for the round-trip property, with a random row group size so batches span row groups.</summary>
public sealed record ImageRowBatch(ImageRow[] Rows, int RowGroupMaxRows)
{
    public override string ToString() => $"{Rows.Length} rows, row groups of {RowGroupMaxRows}";
}

public static class ImageRowArbitraries
{
    // Text atoms that are valid UTF-16 (lone surrogates cannot round-trip through UTF-8 in any Parquet writer).
    private static readonly string[] TextAtoms =
        ["a", "Z", "7", " ", "-", "_", "/", ".", "é", "ß", "×", "Ñ", "鳥", "キノコ", "🦉", "🍄", "ʻ", "\t", "\"", "'", "\0"];

    private static readonly float[] SpecialFloats =
        [float.NaN, -0f, 0f, float.PositiveInfinity, float.NegativeInfinity, float.Epsilon, float.MaxValue, float.MinValue];

    public static Arbitrary<ImageRowBatch> Batches() => BatchGen.ToArbitrary();

    private static Gen<string> Text =>
        Gen.Choose(0, 12).SelectMany(n => Gen.ArrayOf(Gen.Elements(TextAtoms), n)).Select(string.Concat);

    private static Gen<float> AnyFloat =>
        Gen.Frequency(
            (3, Gen.Choose(-1_000_000, 1_000_000).Select(i => i / 1024f)),
            (2, Gen.Zip(Gen.Choose(0, 0xFFFF), Gen.Choose(0, 0xFFFF)).Select(t => BitConverter.Int32BitsToSingle((t.Item1 << 16) | t.Item2))),
            (1, Gen.Elements(SpecialFloats)));

    private static Gen<BoxRow> Box =>
        from x in AnyFloat
        from y in AnyFloat
        from w in AnyFloat
        from h in AnyFloat
        from relativeSize in AnyFloat
        select new BoxRow(x, y, w, h, relativeSize);

    private static Gen<byte[]?> Image =>
        Gen.Frequency(
            (1, Gen.Constant<byte[]?>(null)),
            (1, Gen.Constant<byte[]?>([])),
            (4, Gen.Choose(1, 600).SelectMany(n => Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b), n)).Select(b => (byte[]?)b)));

    private static Gen<float[]?> Embedding =>
        Gen.Frequency(
            (1, Gen.Constant<float[]?>(null)),
            (1, Gen.Constant<float[]?>([])),
            (4, Gen.Choose(1, 24).SelectMany(n => Gen.ArrayOf(AnyFloat, n)).Select(e => (float[]?)e)));

    private static Gen<ImageRow> Row =>
        from id in FsCheck.FSharp.Gen.Choose64(long.MinValue / 2, long.MaxValue / 2)
        from fileName in Text
        from categoryId in Gen.Choose(-1, 5088)
        from species in Text
        from split in Gen.Elements("train", "val", "test")
        from supercategory in Gen.Elements("Aves", "Plantae", "Insecta", "Fungi ×", "鳥類")
        from size in Gen.Zip(Gen.Choose(0, 30000), Gen.Choose(0, 30000))
        from resized in Gen.Zip(Gen.Choose(0, 800), Gen.Choose(0, 800))
        from image in Image
        from boxes in Gen.Choose(0, 5).SelectMany(n => Gen.ArrayOf(Box, n))
        from embedding in Embedding
        select new ImageRow(id, fileName, categoryId, species, split, supercategory, size.Item1, size.Item2,
            resized.Item1, resized.Item2, image, boxes, embedding);

    private static Gen<ImageRowBatch> BatchGen =>
        from count in Gen.Choose(0, 40)
        from rows in Gen.ArrayOf(Row, count)
        from rowGroupRows in Gen.Choose(1, 16)
        select new ImageRowBatch(rows, rowGroupRows);
}
