namespace Pipeline.Imaging;

/// <summary>
/// One decode backend of the image stage: file bytes in, model-input crop and optional stored copy out.
/// Implementations are stateless and thread-safe: one instance serves every worker thread.
/// </summary>
public interface IImageDecoder
{
    /// <summary>The name <c>--decoder</c> selects it by (see <see cref="DecoderRegistry"/>).</summary>
    string Name { get; }

    /// <summary>
    /// Decodes <paramref name="file"/>, applies its EXIF orientation, writes the centre crop of the shorter-side
    /// resize into <paramref name="cropRgb"/> (exactly <see cref="ImageStageOptions.CropBytes"/> bytes, RGB HWC uint8)
    /// and, when <see cref="ImageStageOptions.StoreShorter"/> is set, encodes the stored copy.
    /// <paramref name="expectedWidth"/>/<paramref name="expectedHeight"/> are the JSON's size, compared with the
    /// decoded one (0 or less: unknown, never a mismatch).
    /// </summary>
    /// <exception cref="ImageRejectedException">The file is empty, not an image, truncated, corrupt, too large or unsupported.</exception>
    /// <exception cref="ArgumentException">The options are out of range or <paramref name="cropRgb"/> has the wrong length.</exception>
    PreparedImage Prepare(ReadOnlySpan<byte> file, int expectedWidth, int expectedHeight, ImageStageOptions options, Span<byte> cropRgb);
}

/// <summary>
/// What the image stage learnt about one image. <see cref="Width"/>/<see cref="Height"/> are the true size after
/// EXIF orientation; <see cref="ResizedWidth"/>/<see cref="ResizedHeight"/> are the stored copy's size when one was
/// made, else the size of the shorter-side resize the crop was cut from: boxes are scaled into these coordinates.
/// <see cref="Orientation"/> is the EXIF value applied (1..8, 1 when absent or invalid).
/// </summary>
public sealed record PreparedImage(
    int Width,
    int Height,
    bool SizeMismatch,
    int ResizedWidth,
    int ResizedHeight,
    byte[]? StoredJpeg,
    int Orientation);
