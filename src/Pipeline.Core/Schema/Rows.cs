namespace Pipeline.Schema;

/// <summary>A box of an output row, in the resized image's pixels; <see cref="RelativeSize"/> is
/// sqrt(w_box·h_box)/sqrt(w_img·h_img) on the true (decoded) image size, the paper's Figure 4.</summary>
public readonly record struct BoxRow(float X, float Y, float W, float H, float RelativeSize);

/// <summary>
/// One output image row (schema in docs/architecture.md). Split and supercategory are partition columns: they live in
/// the hive path of the merged dataset, and travel here only so writers know where a row belongs.
/// </summary>
public sealed record ImageRow(
    long ImageId,
    string FileName,
    int CategoryId,
    string Species,
    string Split,
    string Supercategory,
    int Width,
    int Height,
    int ResizedWidth,
    int ResizedHeight,
    byte[]? Image,
    BoxRow[] Boxes,
    float[]? Embedding);

/// <summary>A quarantined image: it produced no image row, and says why. Stage is e.g. "read", "decode", "embed".</summary>
public sealed record ErrorRow(
    long ImageId,
    string FileName,
    string Stage,
    string Error,
    string Message,
    string Worker,
    int Attempt);
