namespace Pipeline.Imaging;

/// <summary>
/// The geometry of one image through the stage, worked out from its header before decoding. "Raw" sizes are in the
/// stored pixel order, the others upright (after EXIF orientation). Backends resize in raw order and orient the small
/// result, which is cheaper than rotating the full decoded picture.
/// </summary>
internal readonly record struct ResizePlan(
    int Orientation,
    int Width,
    int Height,
    int ResizedWidth,
    int ResizedHeight,
    int RawResizedWidth,
    int RawResizedHeight,
    int Crop,
    int CropRawX,
    int CropRawY,
    int StoredWidth,
    int StoredHeight,
    int RawStoredWidth,
    int RawStoredHeight)
{
    public bool HasStoredCopy => StoredWidth > 0;

    /// <summary>The shorter side a reduced-scale decode must keep so neither output is upsampled from less.</summary>
    public int NeededShorterSide => Math.Max(Math.Min(ResizedWidth, ResizedHeight), HasStoredCopy ? Math.Min(StoredWidth, StoredHeight) : 0);

    /// <summary>
    /// What the stage reports for an image prepared by this plan: the true upright size, whether it differs from the
    /// annotation's, and the size boxes are scaled into (the stored copy's when one was made, else the resize's).
    /// </summary>
    public PreparedImage Result(int expectedWidth, int expectedHeight, byte[]? storedJpeg)
    {
        var (resizedWidth, resizedHeight) = HasStoredCopy ? (StoredWidth, StoredHeight) : (ResizedWidth, ResizedHeight);
        return new PreparedImage(Width, Height, ImageFileCheck.IsSizeMismatch(expectedWidth, expectedHeight, Width, Height),
            resizedWidth, resizedHeight, storedJpeg, Orientation);
    }

    public static ResizePlan For(int rawWidth, int rawHeight, int orientation, ImageStageOptions options)
    {
        bool swap = ExifOrientation.SwapsAxes(orientation);
        int width = swap ? rawHeight : rawWidth, height = swap ? rawWidth : rawHeight;

        var (resizedWidth, resizedHeight) = ShorterSideTo(width, height, options.ResizeShorter);
        int rawResizedWidth = swap ? resizedHeight : resizedWidth, rawResizedHeight = swap ? resizedWidth : resizedHeight;

        int crop = options.Crop;
        // centre crop in upright coordinates, then the same pixels in raw order
        var (cropX, cropY, _, _) = ExifOrientation.DisplayRectToRaw(
            orientation, (resizedWidth - crop) / 2, (resizedHeight - crop) / 2, crop, crop, rawResizedWidth, rawResizedHeight);

        int storedWidth = 0, storedHeight = 0, rawStoredWidth = 0, rawStoredHeight = 0;
        if (options.StoreShorter is { } storeShorter)
        {
            (storedWidth, storedHeight) = ShorterSideTo(width, height, storeShorter);
            (rawStoredWidth, rawStoredHeight) = swap ? (storedHeight, storedWidth) : (storedWidth, storedHeight);
        }

        return new ResizePlan(orientation, width, height, resizedWidth, resizedHeight, rawResizedWidth, rawResizedHeight,
            crop, cropX, cropY, storedWidth, storedHeight, rawStoredWidth, rawStoredHeight);
    }

    /// <summary>Scales so the shorter side is <paramref name="shorter"/>; the longer side is rounded half up, at least 1.</summary>
    public static (int Width, int Height) ShorterSideTo(int width, int height, int shorter)
    {
        if (width <= height)
            return (shorter, (int)Math.Max(1, ((long)height * shorter * 2 + width) / (2L * width)));
        return ((int)Math.Max(1, ((long)width * shorter * 2 + height) / (2L * height)), shorter);
    }
}
