using System.Diagnostics;
using Pipeline.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static Pipeline.Tests.Imaging.TestImages;

namespace Pipeline.Tests.Imaging;

/// <summary>Hostile and broken files: each gives its typed error, fast, without decoding what it claims.</summary>
public class RejectedFileTests
{
    private static readonly ImageStageOptions Defaults = new();

    /// <summary>Runs Prepare expecting a rejection; also bounds the time and managed allocation it may take.</summary>
    private static ImageRejectedException Reject(string decoder, byte[] file, ImageStageOptions? options = null)
    {
        options ??= Defaults;
        var crop = new byte[options.CropBytes];
        var imageDecoder = DecoderRegistry.Create(decoder);
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();

        var rejected = Assert.Throws<ImageRejectedException>(() => imageDecoder.Prepare(file, 0, 0, options, crop));

        clock.Stop();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        Assert.True(allocated < 50_000_000, $"rejecting took {allocated:N0} bytes of managed allocation");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"rejecting took {clock.Elapsed}");
        Assert.False(string.IsNullOrWhiteSpace(rejected.Message));
        return rejected;
    }

    private static byte[] SmallJpeg(int width = 64, int height = 48)
    {
        using var image = Waves(width, height);
        return Jpeg(image, 90);
    }

    [Theory]
    [MemberData(nameof(DecoderNames), MemberType = typeof(TestImages))]
    public void Empty_file_is_Empty(string decoder)
    {
        var rejected = Reject(decoder, []);
        Assert.Equal(ImageErrorKind.Empty, rejected.Kind);
        Assert.Equal("Empty", rejected.ErrorName);
    }

    [Theory]
    [MemberData(nameof(DecoderNames), MemberType = typeof(TestImages))]
    public void Text_file_is_NotAnImage(string decoder)
    {
        var rejected = Reject(decoder, "species,count\nAves,214295\n"u8.ToArray());
        Assert.Equal(ImageErrorKind.NotAnImage, rejected.Kind);
        Assert.Equal("NotAnImage", rejected.ErrorName);
    }

    [Theory]
    [MemberData(nameof(DecoderNames), MemberType = typeof(TestImages))]
    public void Html_error_page_saved_as_jpg_is_NotAnImage(string decoder)
    {
        var rejected = Reject(decoder, "<!DOCTYPE html><html><body>403 Forbidden</body></html>"u8.ToArray());
        Assert.Equal(ImageErrorKind.NotAnImage, rejected.Kind);
    }

    [Theory]
    [MemberData(nameof(DecoderNames), MemberType = typeof(TestImages))]
    public void Jpeg_cut_in_half_is_Truncated(string decoder)
    {
        using var image = Waves(400, 300);
        var file = Jpeg(image, 90);

        var rejected = Reject(decoder, file[..(file.Length / 2)]);

        Assert.Equal(ImageErrorKind.Truncated, rejected.Kind);
        Assert.Equal("Truncated", rejected.ErrorName);
    }

    [Theory]
    [MemberData(nameof(DecoderNames), MemberType = typeof(TestImages))]
    public void Jpeg_missing_only_its_last_bytes_is_Truncated(string decoder)
    {
        var file = SmallJpeg(200, 150);
        Assert.Equal(ImageErrorKind.Truncated, Reject(decoder, file[..^2]).Kind);
    }

    [Theory]
    [MemberData(nameof(DecoderNames), MemberType = typeof(TestImages))]
    public void Cut_jpeg_whose_thumbnail_segment_holds_an_end_marker_is_Truncated(string decoder)
    {
        // an EXIF thumbnail carries its own FF D9; a search for FF D9 near the end would be fooled in a small file
        byte[] thumbnail = [.. "Exif\0\0"u8, 0xFF, 0xD8, 0xFF, 0xD9, .. new byte[40]];
        var file = WithSegmentAfterStart(SmallJpeg(200, 150), 0xE1, thumbnail);

        Assert.Equal(ImageErrorKind.Truncated, Reject(decoder, file[..(file.Length * 2 / 3)]).Kind);
    }

    [Theory]
    [MemberData(nameof(DecoderNames), MemberType = typeof(TestImages))]
    public void Png_cut_short_is_Truncated(string decoder)
    {
        using var image = Waves(200, 150);
        var file = Png(image);
        Assert.Equal(ImageErrorKind.Truncated, Reject(decoder, file[..(file.Length - 20)]).Kind);
    }

    [Theory]
    [MemberData(nameof(DecoderNames), MemberType = typeof(TestImages))]
    public void Jpeg_signature_alone_is_Truncated(string decoder)
    {
        Assert.Equal(ImageErrorKind.Truncated, Reject(decoder, [0xFF, 0xD8, 0xFF]).Kind);
    }

    [Theory]
    [MemberData(nameof(DecoderNames), MemberType = typeof(TestImages))]
    public void Jpeg_with_a_broken_frame_header_is_Corrupt(string decoder)
    {
        var file = SmallJpeg();
        // SOF0 component count to 0: a frame with no colour channels
        int sof = file.AsSpan().IndexOf([(byte)0xFF, (byte)0xC0]);
        file[sof + 9] = 0;

        var rejected = Reject(decoder, file);

        Assert.Equal(ImageErrorKind.Corrupt, rejected.Kind);
        Assert.Equal("Corrupt", rejected.ErrorName);
    }

    [Theory]
    [MemberData(nameof(DecoderNames), MemberType = typeof(TestImages))]
    public void Jpeg_segment_with_impossible_length_is_Corrupt(string decoder)
    {
        byte[] file = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x01, 0xFF, 0xD9];
        Assert.Equal(ImageErrorKind.Corrupt, Reject(decoder, file).Kind);
    }

    [Theory]
    [MemberData(nameof(DecoderNames), MemberType = typeof(TestImages))]
    public void One_kilobyte_jpeg_claiming_30000_squared_is_TooLarge_before_decoding(string decoder)
    {
        var small = SmallJpeg(32, 32);
        Assert.True(small.Length < 2048, $"the bomb should be tiny, is {small.Length} bytes");
        var bomb = WithJpegHeaderSize(small, 30000, 30000);

        var rejected = Reject(decoder, bomb);

        Assert.Equal(ImageErrorKind.TooLarge, rejected.Kind);
        Assert.Equal("TooLarge", rejected.ErrorName);
        Assert.Contains("30000x30000", rejected.Message);
    }

    [Theory]
    [MemberData(nameof(DecoderNames), MemberType = typeof(TestImages))]
    public void Png_header_claiming_40000_wide_is_TooLarge(string decoder)
    {
        using var image = new Image<Rgb24>(4, 4);
        var bomb = WithPngHeaderSize(Png(image), 40000, 4);

        Assert.Equal(ImageErrorKind.TooLarge, Reject(decoder, bomb).Kind);
    }

    [Theory]
    [MemberData(nameof(DecoderNames), MemberType = typeof(TestImages))]
    public void Pixel_limit_is_configurable(string decoder)
    {
        var file = SmallJpeg(400, 300); // 120,000 px
        var strict = new ImageStageOptions(MaxPixels: 100_000);

        var rejected = Reject(decoder, file, strict);

        Assert.Equal(ImageErrorKind.TooLarge, rejected.Kind);
        var crop = new byte[Defaults.CropBytes];
        DecoderRegistry.Create(decoder).Prepare(file, 400, 300, new ImageStageOptions(MaxPixels: 120_000), crop);
    }

    [Theory]
    [MemberData(nameof(DecoderNames), MemberType = typeof(TestImages))]
    public void Side_limit_is_configurable(string decoder)
    {
        var file = SmallJpeg(400, 30);
        Assert.Equal(ImageErrorKind.TooLarge, Reject(decoder, file, new ImageStageOptions(MaxSide: 399)).Kind);
    }

    [Theory]
    [MemberData(nameof(DecoderNames), MemberType = typeof(TestImages))]
    public void Crop_buffer_of_the_wrong_length_is_an_argument_error(string decoder)
    {
        var file = SmallJpeg();
        var decoderUnderTest = DecoderRegistry.Create(decoder);
        Assert.Throws<ArgumentException>(() => decoderUnderTest.Prepare(file, 0, 0, Defaults, new byte[224 * 224 * 4]));
    }

    [Theory]
    [MemberData(nameof(DecoderNames), MemberType = typeof(TestImages))]
    public void Crop_larger_than_the_resize_is_an_argument_error(string decoder)
    {
        var options = new ImageStageOptions(ResizeShorter: 200, Crop: 224);
        var decoderUnderTest = DecoderRegistry.Create(decoder);
        Assert.Throws<ArgumentOutOfRangeException>(() => decoderUnderTest.Prepare(SmallJpeg(), 0, 0, options, new byte[options.CropBytes]));
    }

    [Fact]
    public void Tiff_is_Unsupported_by_skia_and_decoded_by_imagesharp()
    {
        using var image = Quadrants(64, 64);
        var tiff = Encode(image, new SixLabors.ImageSharp.Formats.Tiff.TiffEncoder());

        Assert.Equal(ImageErrorKind.Unsupported, Reject(SkiaDecoder.DecoderName, tiff).Kind);
        var crop = new byte[Defaults.CropBytes];
        var prepared = new ImageSharpDecoder().Prepare(tiff, 64, 64, Defaults, crop);
        Assert.Equal((64, 64), (prepared.Width, prepared.Height));
    }
}
