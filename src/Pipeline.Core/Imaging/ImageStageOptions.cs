namespace Pipeline.Imaging;

/// <summary>
/// Settings of the image stage. The model input is the centre <see cref="Crop"/>² of the image resized so its shorter
/// side is <see cref="ResizeShorter"/>; a stored copy (shorter side <see cref="StoreShorter"/>, JPEG at
/// <see cref="StoreQuality"/>) is made only when <see cref="StoreShorter"/> is set. Headers over
/// <see cref="MaxPixels"/> or <see cref="MaxSide"/> are rejected before any pixel is decoded.
/// </summary>
public sealed record ImageStageOptions(
    int ResizeShorter = 256,
    int Crop = 224,
    int? StoreShorter = null,
    int StoreQuality = 90,
    long MaxPixels = 100_000_000,
    int MaxSide = 20000)
{
    /// <summary>Above this a 4-byte-per-pixel buffer would pass 2 GB, which no pooled array can hold.</summary>
    public const long MaxPixelsCeiling = 500_000_000;

    /// <summary>Bytes of the model-input crop: <see cref="Crop"/>·<see cref="Crop"/>·3, RGB interleaved (HWC), uint8.</summary>
    public int CropBytes => Crop * Crop * 3;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        if (ResizeShorter < 1 || ResizeShorter > 8192)
            throw new ArgumentOutOfRangeException(nameof(ResizeShorter), ResizeShorter, "resize size must be 1..8192 px");
        if (Crop < 1 || Crop > ResizeShorter)
            throw new ArgumentOutOfRangeException(nameof(Crop), Crop, $"crop must be 1..{ResizeShorter} px (the resize size)");
        if (StoreShorter is { } store && (store < 1 || store > 8192))
            throw new ArgumentOutOfRangeException(nameof(StoreShorter), store, "stored copy size must be 1..8192 px");
        if (StoreQuality < 1 || StoreQuality > 100)
            throw new ArgumentOutOfRangeException(nameof(StoreQuality), StoreQuality, "JPEG quality must be 1..100");
        if (MaxPixels < 1 || MaxPixels > MaxPixelsCeiling)
            throw new ArgumentOutOfRangeException(nameof(MaxPixels), MaxPixels, $"pixel limit must be 1..{MaxPixelsCeiling}");
        if (MaxSide < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxSide), MaxSide, "side limit must be positive");
    }
}
