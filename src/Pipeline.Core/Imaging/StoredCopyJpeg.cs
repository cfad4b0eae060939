using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.PixelFormats;

namespace Pipeline.Imaging;

/// <summary>
/// Encodes the stored copy for every backend with ImageSharp's JPEG encoder (4:2:0, metadata stripped): measured here
/// at 0.6 ms for a 341x256 photo against 1.75 ms for SkiaSharp's, and one encoder means one output whichever backend
/// decoded.
/// </summary>
internal static class StoredCopyJpeg
{
    // the worker pool already runs one image per core, so ImageSharp must not fan out inside an image too
    public static readonly Configuration SingleThreaded = CreateConfiguration();

    private static readonly JpegEncoder[] EncoderByQuality = CreateEncoders();

    /// <summary>Encodes an upright image; its metadata is dropped (pixels are upright, so an orientation tag would be stale).</summary>
    public static byte[] Encode<TPixel>(Image<TPixel> image, int quality)
        where TPixel : unmanaged, IPixel<TPixel>
    {
        image.Metadata.ExifProfile = null;
        image.Metadata.IccProfile = null;
        image.Metadata.IptcProfile = null;
        image.Metadata.XmpProfile = null;
        using var output = new MemoryStream(capacity: image.Width * image.Height / 2 + 1024);
        image.Save(output, EncoderByQuality[quality]);
        return output.ToArray();
    }

    /// <summary>Encodes upright RGB24 pixels held in <paramref name="rgb"/> without copying them.</summary>
    public static byte[] EncodeRgb(Memory<byte> rgb, int width, int height, int quality)
    {
        using var image = Image.WrapMemory<Rgb24>(SingleThreaded, rgb[..(width * height * 3)], width, height);
        return Encode(image, quality);
    }

    private static Configuration CreateConfiguration()
    {
        var configuration = Configuration.Default.Clone();
        configuration.MaxDegreeOfParallelism = 1;
        return configuration;
    }

    private static JpegEncoder[] CreateEncoders()
    {
        var encoders = new JpegEncoder[101];
        for (int quality = 1; quality <= 100; quality++)
            encoders[quality] = new JpegEncoder { Quality = quality, ColorType = JpegColorType.YCbCrRatio420 };
        encoders[0] = encoders[1];
        return encoders;
    }
}
