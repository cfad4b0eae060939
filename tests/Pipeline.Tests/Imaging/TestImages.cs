using Pipeline.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace Pipeline.Tests.Imaging;

/// <summary>Test pictures made on the fly with ImageSharp's encoders, and the reference outputs to compare with.</summary>
internal static class TestImages
{
    public static readonly Rgb24 Red = new(230, 20, 20);
    public static readonly Rgb24 Green = new(20, 200, 40);
    public static readonly Rgb24 Blue = new(20, 30, 220);
    public static readonly Rgb24 Yellow = new(240, 230, 30);

    /// <summary>Both backends, for [Theory] over decoders.</summary>
    public static TheoryData<string> DecoderNames => new(DecoderRegistry.Names);

    public static string AssetPath(string name) => Path.Combine(AppContext.BaseDirectory, "Imaging", "assets", name);

    /// <summary>Top-left red, top-right green, bottom-left blue, bottom-right yellow, with a soft diagonal shade.</summary>
    public static Image<Rgb24> Quadrants(int width, int height)
    {
        var image = new Image<Rgb24>(width, height);
        for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
        {
            var c = (x < width / 2, y < height / 2) switch
            {
                (true, true) => Red,
                (false, true) => Green,
                (true, false) => Blue,
                _ => Yellow,
            };
            int shade = (x + y) * 20 / (width + height); // a gentle gradient so resampling has something to do
            image[x, y] = new Rgb24((byte)Math.Max(0, c.R - shade), (byte)Math.Max(0, c.G - shade), (byte)Math.Max(0, c.B - shade));
        }
        return image;
    }

    /// <summary>Smooth but busy content, closer to a photograph than flat quadrants.</summary>
    public static Image<Rgb24> Waves(int width, int height)
    {
        var image = new Image<Rgb24>(width, height);
        for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
        {
            double u = (double)x / width, v = (double)y / height;
            image[x, y] = new Rgb24(
                (byte)(127 + 120 * Math.Sin(6 * u + 2 * v)),
                (byte)(127 + 120 * Math.Cos(5 * v - 3 * u)),
                (byte)(127 + 120 * Math.Sin(4 * (u + v))));
        }
        return image;
    }

    public static byte[] Jpeg<TPixel>(Image<TPixel> image, int quality = 95, JpegColorType? colorType = null)
        where TPixel : unmanaged, IPixel<TPixel> =>
        Encode(image, new JpegEncoder { Quality = quality, ColorType = colorType });

    public static byte[] Png<TPixel>(Image<TPixel> image, PngColorType? colorType = null, PngBitDepth? bitDepth = null)
        where TPixel : unmanaged, IPixel<TPixel> =>
        Encode(image, new PngEncoder { ColorType = colorType, BitDepth = bitDepth });

    public static byte[] Encode<TPixel>(Image<TPixel> image, IImageEncoder encoder)
        where TPixel : unmanaged, IPixel<TPixel>
    {
        using var stream = new MemoryStream();
        image.Save(stream, encoder);
        return stream.ToArray();
    }

    /// <summary>
    /// A JPEG whose stored pixels are <paramref name="upright"/> turned so that EXIF <paramref name="orientation"/>
    /// turns them back. The inverse turns use ImageSharp's RotateFlip, independent of the code under test.
    /// </summary>
    public static byte[] JpegWithOrientation(Image<Rgb24> upright, int orientation, int quality = 95)
    {
        using var raw = upright.Clone(context =>
        {
            switch (orientation)
            {
                case 2: context.Flip(FlipMode.Horizontal); break;
                case 3: context.Rotate(RotateMode.Rotate180); break;
                case 4: context.Flip(FlipMode.Vertical); break;
                case 5: context.Rotate(RotateMode.Rotate90).Flip(FlipMode.Horizontal); break; // transpose
                case 6: context.Rotate(RotateMode.Rotate270); break;
                case 7: context.Rotate(RotateMode.Rotate90).Flip(FlipMode.Vertical); break; // transverse
                case 8: context.Rotate(RotateMode.Rotate90); break;
            }
        });
        raw.Metadata.ExifProfile = new ExifProfile();
        raw.Metadata.ExifProfile.SetValue(ExifTag.Orientation, (ushort)orientation);
        return Jpeg(raw, quality);
    }

    /// <summary>The model input computed the plain way on the upright picture: resize shorter side to S, crop the centre.</summary>
    public static byte[] ReferenceCrop(Image<Rgb24> upright, int resizeShorter, int crop)
    {
        int w = upright.Width, h = upright.Height;
        var (rw, rh) = w <= h
            ? (resizeShorter, (int)Math.Round((double)h * resizeShorter / w, MidpointRounding.AwayFromZero))
            : ((int)Math.Round((double)w * resizeShorter / h, MidpointRounding.AwayFromZero), resizeShorter);
        using var resized = upright.Clone(c => c.Resize(rw, rh, KnownResamplers.Bicubic).Crop(new Rectangle((rw - crop) / 2, (rh - crop) / 2, crop, crop)));
        var bytes = new byte[crop * crop * 3];
        resized.CopyPixelDataTo(bytes);
        return bytes;
    }

    public static double MeanAbsoluteDifference(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        Assert.Equal(a.Length, b.Length);
        long sum = 0;
        for (int i = 0; i < a.Length; i++) sum += Math.Abs(a[i] - b[i]);
        return (double)sum / a.Length;
    }

    /// <summary>The RGB of pixel (x, y) of a square HWC crop.</summary>
    public static Rgb24 PixelAt(ReadOnlySpan<byte> rgb, int side, int x, int y)
    {
        int i = (y * side + x) * 3;
        return new Rgb24(rgb[i], rgb[i + 1], rgb[i + 2]);
    }

    public static void AssertClose(Rgb24 expected, Rgb24 actual, int tolerance, string where)
    {
        bool close = Math.Abs(expected.R - actual.R) <= tolerance && Math.Abs(expected.G - actual.G) <= tolerance
                     && Math.Abs(expected.B - actual.B) <= tolerance;
        Assert.True(close, $"{where}: expected about {expected}, got {actual}");
    }

    /// <summary>Rewrites the frame header (SOF0/SOF2) of a JPEG to claim another size, as a decompression bomb does.</summary>
    public static byte[] WithJpegHeaderSize(byte[] jpeg, int width, int height)
    {
        var patched = (byte[])jpeg.Clone();
        int pos = 2;
        while (pos + 4 < patched.Length)
        {
            byte marker = patched[pos + 1];
            int length = (patched[pos + 2] << 8) | patched[pos + 3];
            if (marker is 0xC0 or 0xC1 or 0xC2)
            {
                patched[pos + 5] = (byte)(height >> 8);
                patched[pos + 6] = (byte)height;
                patched[pos + 7] = (byte)(width >> 8);
                patched[pos + 8] = (byte)width;
                return patched;
            }
            pos += 2 + length;
        }
        throw new InvalidOperationException("no SOF marker found");
    }

    /// <summary>Inserts an APPn segment right after SOI, e.g. one whose payload holds an FF D9 like an EXIF thumbnail.</summary>
    public static byte[] WithSegmentAfterStart(byte[] jpeg, byte marker, byte[] payload)
    {
        var segment = new byte[4 + payload.Length];
        segment[0] = 0xFF;
        segment[1] = marker;
        segment[2] = (byte)((payload.Length + 2) >> 8);
        segment[3] = (byte)(payload.Length + 2);
        payload.CopyTo(segment, 4);
        return [.. jpeg.AsSpan(0, 2), .. segment, .. jpeg.AsSpan(2)];
    }

    /// <summary>Rewrites the PNG IHDR size and its CRC, so only the size check can object.</summary>
    public static byte[] WithPngHeaderSize(byte[] png, int width, int height)
    {
        var patched = (byte[])png.Clone();
        WriteBigEndian(patched, 16, (uint)width);
        WriteBigEndian(patched, 20, (uint)height);
        WriteBigEndian(patched, 29, Crc32(patched.AsSpan(12, 17))); // type + 13 data bytes
        return patched;
    }

    private static void WriteBigEndian(byte[] bytes, int at, uint value)
    {
        bytes[at] = (byte)(value >> 24);
        bytes[at + 1] = (byte)(value >> 16);
        bytes[at + 2] = (byte)(value >> 8);
        bytes[at + 3] = (byte)value;
    }

    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }
        return ~crc;
    }
}
