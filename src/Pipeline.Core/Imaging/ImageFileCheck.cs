namespace Pipeline.Imaging;

/// <summary>The container formats the stage recognises by their leading bytes.</summary>
internal enum ImageContainer { Unknown, Jpeg, Png, Gif, Bmp, WebP, Tiff }

/// <summary>
/// Checks that need no decoder and run before one: empty file, signature, and for JPEG and PNG that the file
/// reaches its end marker. ImageSharp decodes a truncated JPEG without error (the missing part comes out flat),
/// so completeness is checked here, identically for every backend.
/// </summary>
internal static class ImageFileCheck
{
    /// <summary>Rejects empty, unknown and truncated files and checks the options; returns the container found.</summary>
    public static ImageContainer BeforeDecode(ReadOnlySpan<byte> file, ImageStageOptions options, int cropLength)
    {
        options.Validate();
        if (cropLength != options.CropBytes)
            throw new ArgumentException($"crop buffer is {cropLength} bytes; {options.Crop}x{options.Crop} RGB needs {options.CropBytes}", "cropRgb");
        if (file.IsEmpty)
            throw new ImageRejectedException(ImageErrorKind.Empty, "the file is empty (0 bytes)");

        var container = Sniff(file);
        switch (container)
        {
            case ImageContainer.Unknown:
                throw new ImageRejectedException(ImageErrorKind.NotAnImage,
                    $"no image signature: the file starts with {Hex(file[..Math.Min(8, file.Length)])}");
            case ImageContainer.Jpeg:
                CheckJpegStructure(file);
                break;
            case ImageContainer.Png:
                CheckPngStructure(file);
                break;
        }
        return container;
    }

    /// <summary>Rejects a header size that is not positive or over the limits, before any pixel buffer exists.</summary>
    public static void CheckHeaderSize(int width, int height, ImageStageOptions options)
    {
        if (width <= 0 || height <= 0)
            throw new ImageRejectedException(ImageErrorKind.Corrupt, $"the header says {width}x{height} pixels");
        if (width > options.MaxSide || height > options.MaxSide)
            throw new ImageRejectedException(ImageErrorKind.TooLarge,
                $"the header says {width}x{height}: a side is over the limit of {options.MaxSide} px");
        if ((long)width * height > options.MaxPixels)
            throw new ImageRejectedException(ImageErrorKind.TooLarge,
                $"the header says {width}x{height} = {(long)width * height:N0} pixels, over the limit of {options.MaxPixels:N0}");
    }

    /// <summary>True when the JSON's size is known and differs from the true (upright) size.</summary>
    public static bool IsSizeMismatch(int expectedWidth, int expectedHeight, int width, int height) =>
        expectedWidth > 0 && expectedHeight > 0 && (expectedWidth != width || expectedHeight != height);

    private static ReadOnlySpan<byte> PngSignature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    public static ImageContainer Sniff(ReadOnlySpan<byte> f)
    {
        if (f.Length >= 3 && f[0] == 0xFF && f[1] == 0xD8 && f[2] == 0xFF) return ImageContainer.Jpeg;
        if (f.Length >= 8 && f[..8].SequenceEqual(PngSignature)) return ImageContainer.Png;
        if (f.Length >= 6 && (f[..6].SequenceEqual("GIF87a"u8) || f[..6].SequenceEqual("GIF89a"u8))) return ImageContainer.Gif;
        if (f.Length >= 12 && f[..4].SequenceEqual("RIFF"u8) && f[8..12].SequenceEqual("WEBP"u8)) return ImageContainer.WebP;
        if (f.Length >= 4 && (f[..4].SequenceEqual("II*\0"u8) || f[..4].SequenceEqual("MM\0*"u8))) return ImageContainer.Tiff;
        if (f.Length >= 14 && f[0] == (byte)'B' && f[1] == (byte)'M') return ImageContainer.Bmp;
        return ImageContainer.Unknown;
    }

    /// <summary>
    /// Walks the JPEG's segments by their lengths and its entropy-coded data to the end-of-image marker. Walking
    /// (rather than looking for FF D9 near the end) is not fooled by an EXIF thumbnail's own FF D9 in a cut file,
    /// and accepts any trailing bytes after the marker (padding, camera trailers).
    /// </summary>
    public static void CheckJpegStructure(ReadOnlySpan<byte> f)
    {
        int pos = 2; // after SOI
        while (true)
        {
            if (pos >= f.Length) throw JpegTruncated(f.Length);
            if (f[pos] != 0xFF)
            {
                // stray bytes between segments: libjpeg skips to the next marker, and so do we
                int next = f[pos..].IndexOf((byte)0xFF);
                if (next < 0) throw JpegTruncated(f.Length);
                pos += next;
                continue;
            }
            while (pos < f.Length && f[pos] == 0xFF) pos++; // fill bytes
            if (pos >= f.Length) throw JpegTruncated(f.Length);
            byte marker = f[pos++];
            if (marker == 0xD9) return; // EOI
            if (marker is 0xD8 or 0x01 or 0x00 or (>= 0xD0 and <= 0xD7)) continue; // no length field
            if (pos + 2 > f.Length) throw JpegTruncated(f.Length);
            int length = (f[pos] << 8) | f[pos + 1];
            if (length < 2)
                throw new ImageRejectedException(ImageErrorKind.Corrupt, $"JPEG segment FF {marker:X2} at byte {pos - 2} has length {length}");
            pos += length;
            if (pos > f.Length) throw JpegTruncated(f.Length);
            if (marker == 0xDA) pos = SkipEntropyCodedData(f, pos);
        }
    }

    /// <summary>Returns the position of the marker that ends a scan; FF 00 (stuffing), RSTn and fill bytes belong to the scan.</summary>
    private static int SkipEntropyCodedData(ReadOnlySpan<byte> f, int pos)
    {
        while (true)
        {
            int next = f[pos..].IndexOf((byte)0xFF);
            if (next < 0 || pos + next + 1 >= f.Length) throw JpegTruncated(f.Length);
            pos += next;
            byte following = f[pos + 1];
            if (following == 0x00 || following is >= 0xD0 and <= 0xD7) pos += 2;
            else if (following == 0xFF) pos += 1;
            else return pos;
        }
    }

    private static ImageRejectedException JpegTruncated(int length) => new(ImageErrorKind.Truncated,
        $"the JPEG ends after {length:N0} bytes without its end-of-image marker (FF D9)");

    /// <summary>Walks the PNG chunks to IEND; bytes after IEND are allowed.</summary>
    public static void CheckPngStructure(ReadOnlySpan<byte> f)
    {
        long pos = 8;
        while (true)
        {
            if (pos + 8 > f.Length)
                throw new ImageRejectedException(ImageErrorKind.Truncated, $"the PNG ends after {f.Length:N0} bytes without its IEND chunk");
            int at = (int)pos;
            uint length = (uint)((f[at] << 24) | (f[at + 1] << 16) | (f[at + 2] << 8) | f[at + 3]);
            if (length > int.MaxValue)
                throw new ImageRejectedException(ImageErrorKind.Corrupt, $"PNG chunk at byte {at} claims {length:N0} bytes");
            bool isEnd = f.Slice(at + 4, 4).SequenceEqual("IEND"u8);
            pos += 12L + length; // length, type, data, CRC
            if (pos > f.Length)
                throw new ImageRejectedException(ImageErrorKind.Truncated, $"the PNG ends after {f.Length:N0} bytes inside a chunk");
            if (isEnd) return;
        }
    }

    private static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes);
}
