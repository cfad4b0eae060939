using System.Buffers;
using System.Runtime.CompilerServices;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Advanced;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using SixLabors.ImageSharp.Processing.Processors;
using SixLabors.ImageSharp.Processing.Processors.Transforms;

namespace Pipeline.Imaging;

/// <summary>
/// Managed decoder: SixLabors.ImageSharp 2.1, full-resolution decode, then one resize of the crop rectangle
/// straight to Crop² (and one to the stored size). Alpha is composited on white.
/// </summary>
public sealed unsafe class ImageSharpDecoder : IImageDecoder
{
    public const string DecoderName = "imagesharp";

    private static readonly Configuration SingleThreaded = StoredCopyJpeg.SingleThreaded;

    public string Name => DecoderName;

    public PreparedImage Prepare(ReadOnlySpan<byte> file, int expectedWidth, int expectedHeight, ImageStageOptions options, Span<byte> cropRgb)
    {
        ImageFileCheck.BeforeDecode(file, options, cropRgb.Length);

        IImageInfo info;
        IImageFormat? format;
        fixed (byte* bytes = file)
        {
            using var stream = new UnmanagedMemoryStream(bytes, file.Length);
            try
            {
                info = Image.Identify(SingleThreaded, stream, out format)
                    ?? throw new ImageRejectedException(ImageErrorKind.Unsupported, "ImageSharp has no decoder for this format");
            }
            catch (Exception e) when (e is not ImageRejectedException && e is not OutOfMemoryException)
            {
                throw Rejection(e, "reading the header");
            }
        }
        ImageFileCheck.CheckHeaderSize(info.Width, info.Height, options);
        int orientation = ReadOrientation(info);
        var plan = ResizePlan.For(info.Width, info.Height, orientation, options);

        // JPEG has no alpha: decode straight to RGB; anything else via RGBA, composited on white
        if (format is JpegFormat)
            return PrepareAs<Rgb24>(file, info, plan, expectedWidth, expectedHeight, options, cropRgb);
        return PrepareAs<Rgba32>(file, info, plan, expectedWidth, expectedHeight, options, cropRgb);
    }

    private static PreparedImage PrepareAs<TPixel>(ReadOnlySpan<byte> file, IImageInfo info, in ResizePlan plan,
        int expectedWidth, int expectedHeight, ImageStageOptions options, Span<byte> cropRgb)
        where TPixel : unmanaged, IPixel<TPixel>
    {
        Image<TPixel> image;
        try
        {
            image = Image.Load<TPixel>(SingleThreaded, file);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw Rejection(e, "decoding");
        }

        using (image)
        {
            if (image.Width != info.Width || image.Height != info.Height)
                throw new ImageRejectedException(ImageErrorKind.Corrupt,
                    $"header says {info.Width}x{info.Height} but {image.Width}x{image.Height} decoded");
            while (image.Frames.Count > 1)
                image.Frames.RemoveFrame(image.Frames.Count - 1); // animations: the first frame is the picture
            if (typeof(TPixel) == typeof(Rgba32))
                image.Mutate(SingleThreaded, static context => context.BackgroundColor(Color.White));

            WriteCrop(image, plan, cropRgb);
            byte[]? stored = plan.HasStoredCopy ? EncodeStoredCopy(image, plan, options.StoreQuality) : null;

            return plan.Result(expectedWidth, expectedHeight, stored);
        }
    }

    /// <summary>
    /// One resize: the whole raw image is mapped onto the raw shorter-side-S size placed at minus the crop offset,
    /// on a Crop² canvas, so only the crop's pixels are computed. Then the small crop is turned upright.
    /// </summary>
    private static void WriteCrop<TPixel>(Image<TPixel> image, in ResizePlan plan, Span<byte> cropRgb)
        where TPixel : unmanaged, IPixel<TPixel>
    {
        var resize = new ResizeOptions
        {
            Mode = ResizeMode.Manual,
            Size = new Size(plan.Crop, plan.Crop),
            TargetRectangle = new Rectangle(-plan.CropRawX, -plan.CropRawY, plan.RawResizedWidth, plan.RawResizedHeight),
            Sampler = KnownResamplers.Bicubic,
        };
        using var crop = image.Clone(SingleThreaded, new IImageProcessor[] { new ResizeProcessor(resize, image.Size()) });

        int bytesPerPixel = Unsafe.SizeOf<TPixel>();
        if (plan.Orientation == 1 && bytesPerPixel == 3)
        {
            crop.CopyPixelDataTo(cropRgb);
            return;
        }
        int length = plan.Crop * plan.Crop * bytesPerPixel;
        byte[] raw = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            crop.CopyPixelDataTo(raw.AsSpan(0, length));
            ExifOrientation.CopyUpright(raw.AsSpan(0, length), plan.Crop, plan.Crop, bytesPerPixel, plan.Orientation, cropRgb, 3);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(raw);
        }
    }

    private static byte[] EncodeStoredCopy<TPixel>(Image<TPixel> image, in ResizePlan plan, int quality)
        where TPixel : unmanaged, IPixel<TPixel>
    {
        var resize = new ResizeOptions
        {
            Mode = ResizeMode.Stretch,
            Size = new Size(plan.RawStoredWidth, plan.RawStoredHeight),
            Sampler = KnownResamplers.Bicubic,
        };
        using var stored = image.Clone(SingleThreaded,
            new IImageProcessor[] { new ResizeProcessor(resize, image.Size()), new AutoOrientProcessor() });
        if (stored.Width != plan.StoredWidth || stored.Height != plan.StoredHeight)
            throw new InvalidOperationException($"stored copy came out {stored.Width}x{stored.Height}, planned {plan.StoredWidth}x{plan.StoredHeight}");
        return StoredCopyJpeg.Encode(stored, quality);
    }

    private static int ReadOrientation(IImageInfo info)
    {
        var value = info.Metadata.ExifProfile?.GetValue(ExifTag.Orientation);
        return ExifOrientation.Normalize(value?.Value ?? 1);
    }

    private static ImageRejectedException Rejection(Exception e, string during) => e switch
    {
        ImageRejectedException rejected => rejected,
        UnknownImageFormatException => new ImageRejectedException(ImageErrorKind.NotAnImage, $"ImageSharp recognises no format ({during}): {e.Message}", e),
        NotSupportedException or NotImplementedException => new ImageRejectedException(ImageErrorKind.Unsupported, $"ImageSharp cannot read this image ({during}): {e.Message}", e),
        EndOfStreamException => new ImageRejectedException(ImageErrorKind.Truncated, $"the data ended early ({during}): {e.Message}", e),
        _ => new ImageRejectedException(ImageErrorKind.Corrupt, $"{e.GetType().Name} while {during}: {e.Message}", e),
    };
}
