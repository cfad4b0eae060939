namespace Pipeline.Corpus;

/// <summary>The dataset splits of the iNat2017 release; only the JSON says which split an image is in.</summary>
public static class Splits
{
    public const string Train = "train";
    public const string Val = "val";
    public const string Test = "test";
}

/// <summary>One species (a category of the COCO-style JSON).</summary>
public sealed record Category(int Id, string Name, string Supercategory);

/// <summary>A bounding box in pixels of the original image, origin top-left, as released.</summary>
public readonly record struct BoxAnnotation(long Id, double X, double Y, double Width, double Height);

/// <summary>
/// One image of the corpus with its label and boxes. <see cref="FileName"/> is relative to the corpus root
/// and has already been checked not to leave it. <see cref="CategoryId"/> is -1 for unlabelled (test) images.
/// </summary>
public sealed record CorpusImage(
    long Id,
    string FileName,
    int Width,
    int Height,
    string Split,
    int CategoryId,
    BoxAnnotation[] Boxes);
