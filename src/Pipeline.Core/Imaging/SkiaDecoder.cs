using System.Buffers;
using SkiaSharp;

namespace Pipeline.Imaging;

/// <summary>
/// Native decoder: SkiaSharp (libjpeg-turbo inside). JPEGs are decoded at a reduced scale in the DCT domain
/// (1/8 steps, the smallest that keeps the needed shorter side), then resized with bilinear filtering on a
/// canvas clipped to the crop. Alpha is composited on white. The stored copy is encoded by ImageSharp (see
/// <see cref="StoredCopyJpeg"/>).
/// </summary>
public sealed unsafe class SkiaDecoder : IImageDecoder
{
    public const string DecoderName = "skia";

    private static readonly SKSamplingOptions Bilinear = new(SKFilterMode.Linear, SKMipmapMode.None);

    // beyond 2x shrink bilinear skips pixels and aliases; mipmaps average them first
    private static readonly SKSamplingOptions BilinearMipmapped = new(SKFilterMode.Linear, SKMipmapMode.Linear);

    public string Name => DecoderName;

    public PreparedImage Prepare(ReadOnlySpan<byte> file, int expectedWidth, int expectedHeight, ImageStageOptions options, Span<byte> cropRgb)
    {
        var container = ImageFileCheck.BeforeDecode(file, options, cropRgb.Length);
        if (container == ImageContainer.Tiff)
            throw new ImageRejectedException(ImageErrorKind.Unsupported, "this SkiaSharp build has no TIFF decoder (imagesharp has one)");

        fixed (byte* bytes = file)
        {
            // wraps the caller's bytes without a copy; they stay pinned until the codec is gone
            using var data = SKData.Create((IntPtr)bytes, file.Length);
            using var codec = SKCodec.Create(new SKMemoryStream(data), out var created);
            if (codec is null)
                throw Rejection(created, "reading the header", container);

            var info = codec.Info;
            ImageFileCheck.CheckHeaderSize(info.Width, info.Height, options);
            int orientation = ExifOrientation.Normalize((int)codec.EncodedOrigin);
            var plan = ResizePlan.For(info.Width, info.Height, orientation, options);

            var decodeSize = ChooseDecodeSize(codec, plan.NeededShorterSide);
            byte[] pixels = Decode(codec, ref decodeSize, container);
            try
            {
                fixed (byte* pixelPointer = pixels)
                {
                    var decoded = new SKImageInfo(decodeSize.Width, decodeSize.Height, SKColorType.Rgba8888, SKAlphaType.Premul);
                    using var image = SKImage.FromPixels(decoded, (IntPtr)pixelPointer, decoded.RowBytes)
                        ?? throw new InvalidOperationException("Skia could not wrap the decoded pixels");

                    WriteCrop(image, plan, cropRgb);
                    byte[]? stored = plan.HasStoredCopy ? EncodeStoredCopy(image, plan, options.StoreQuality) : null;

                    return plan.Result(expectedWidth, expectedHeight, stored);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(pixels);
            }
        }
    }

    /// <summary>The smallest of the codec's scales (k/8) whose shorter side is still at least <paramref name="neededShorter"/>.</summary>
    private static SKSizeI ChooseDecodeSize(SKCodec codec, int neededShorter)
    {
        var full = codec.Info.Size;
        for (int eighths = 1; eighths < 8; eighths++)
        {
            var scaled = codec.GetScaledDimensions(eighths / 8f);
            if (Math.Min(scaled.Width, scaled.Height) >= neededShorter)
                return scaled;
        }
        return full;
    }

    /// <summary>Decodes into a pooled RGBA buffer (premultiplied); falls back to full size if the codec refuses the scale.</summary>
    private static byte[] Decode(SKCodec codec, ref SKSizeI size, ImageContainer container)
    {
        while (true)
        {
            var target = new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Premul);
            byte[] pixels = ArrayPool<byte>.Shared.Rent(target.BytesSize);
            SKCodecResult result;
            fixed (byte* pixelPointer = pixels)
                result = codec.GetPixels(target, (IntPtr)pixelPointer);
            if (result == SKCodecResult.Success)
                return pixels;
            ArrayPool<byte>.Shared.Return(pixels);
            if (result == SKCodecResult.InvalidScale && size != codec.Info.Size)
            {
                size = codec.Info.Size;
                continue;
            }
            throw Rejection(result, "decoding", container);
        }
    }

    /// <summary>
    /// Draws the whole raw image onto a Crop² canvas as the raw shorter-side-S resize placed at minus the crop
    /// offset (the canvas clips, so only the crop is computed), on white, then turns the small crop upright.
    /// </summary>
    private static void WriteCrop(SKImage image, in ResizePlan plan, Span<byte> cropRgb)
    {
        int crop = plan.Crop, length = crop * crop * 4;
        byte[] rgba = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            fixed (byte* target = rgba)
            {
                var canvasInfo = new SKImageInfo(crop, crop, SKColorType.Rgba8888, SKAlphaType.Premul);
                using var surface = SKSurface.Create(canvasInfo, (IntPtr)target, canvasInfo.RowBytes)
                    ?? throw new InvalidOperationException("Skia could not create the crop canvas");
                surface.Canvas.Clear(SKColors.White);
                var destination = SKRect.Create(-plan.CropRawX, -plan.CropRawY, plan.RawResizedWidth, plan.RawResizedHeight);
                surface.Canvas.DrawImage(image, destination, SamplingFor(image.Width, plan.RawResizedWidth), null);
                surface.Flush();
            }
            ExifOrientation.CopyUpright(rgba.AsSpan(0, length), crop, crop, 4, plan.Orientation, cropRgb, 3);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rgba);
        }
    }

    /// <summary>Draws the raw image at the raw stored size on white, turns it upright into RGB and encodes that.</summary>
    private static byte[] EncodeStoredCopy(SKImage image, in ResizePlan plan, int quality)
    {
        int rawWidth = plan.RawStoredWidth, rawHeight = plan.RawStoredHeight;
        int rawLength = rawWidth * rawHeight * 4, uprightLength = rawWidth * rawHeight * 3;
        byte[] raw = ArrayPool<byte>.Shared.Rent(rawLength);
        byte[] upright = ArrayPool<byte>.Shared.Rent(uprightLength);
        try
        {
            fixed (byte* rawPointer = raw)
            {
                var rawInfo = new SKImageInfo(rawWidth, rawHeight, SKColorType.Rgba8888, SKAlphaType.Premul);
                using var surface = SKSurface.Create(rawInfo, (IntPtr)rawPointer, rawInfo.RowBytes)
                    ?? throw new InvalidOperationException("Skia could not create the stored-copy canvas");
                surface.Canvas.Clear(SKColors.White);
                surface.Canvas.DrawImage(image, SKRect.Create(rawWidth, rawHeight), SamplingFor(image.Width, rawWidth), null);
                surface.Flush();
            }
            ExifOrientation.CopyUpright(raw.AsSpan(0, rawLength), rawWidth, rawHeight, 4, plan.Orientation, upright, 3);
            return StoredCopyJpeg.EncodeRgb(upright.AsMemory(0, uprightLength), plan.StoredWidth, plan.StoredHeight, quality);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(raw);
            ArrayPool<byte>.Shared.Return(upright);
        }
    }

    private static SKSamplingOptions SamplingFor(int sourceWidth, int targetWidth) =>
        sourceWidth > 2 * targetWidth ? BilinearMipmapped : Bilinear;

    private static ImageRejectedException Rejection(SKCodecResult result, string during, ImageContainer container) => result switch
    {
        SKCodecResult.IncompleteInput => new(ImageErrorKind.Truncated, $"Skia ran out of input while {during}"),
        SKCodecResult.Unimplemented => new(ImageErrorKind.Unsupported, $"Skia has no decoder for this {container} file"),
        SKCodecResult.InvalidConversion => new(ImageErrorKind.Unsupported, $"Skia cannot convert this {container} file to RGBA"),
        _ => new(ImageErrorKind.Corrupt, $"Skia reported {result} while {during}"),
    };
}
