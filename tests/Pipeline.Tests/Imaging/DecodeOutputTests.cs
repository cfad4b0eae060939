using Pipeline.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
using static Pipeline.Tests.Imaging.TestImages;

namespace Pipeline.Tests.Imaging;

/// <summary>Good images through both backends: sizes, orientation, crop content, colour models, stored copy.</summary>
public class DecodeOutputTests
{
    private static readonly ImageStageOptions Defaults = new();

    public static TheoryData<string, int> DecodersAndOrientations()
    {
        var data = new TheoryData<string, int>();
        foreach (var name in DecoderRegistry.Names)
            for (int orientation = 1; orientation <= 8; orientation++)
                data.Add(name, orientation);
        return data;
    }

    private static (PreparedImage Prepared, byte[] Crop) Prepare(string decoder, byte[] file, int expectedWidth, int expectedHeight, ImageStageOptions? options = null)
    {
        options ??= Defaults;
        var crop = new byte[options.CropBytes];
        var prepared = DecoderRegistry.Create(decoder).Prepare(file, expectedWidth, expectedHeight, options, crop);
        return (prepared, crop);
    }

    [Theory]
    [MemberData(nameof(DecoderNames), MemberType = typeof(TestImages))]
    public void Landscape_jpeg_gives_true_size_and_shorter_side_resize(string decoder)
    {
        using var image = Waves(800, 600);
        var (prepared, _) = Prepare(decoder, Jpeg(image, 90), 800, 600);

        Assert.Equal((800, 600), (prepared.Width, prepared.Height));
        Assert.Equal((341, 256), (prepared.ResizedWidth, prepared.ResizedHeight)); // 800·256/600 = 341.33
        Assert.False(prepared.SizeMismatch);
        Assert.Null(prepared.StoredJpeg);
        Assert.Equal(1, prepared.Orientation);
    }

    [Theory]
    [MemberData(nameof(DecoderNames), MemberType = typeof(TestImages))]
    public void Crop_matches_a_plain_resize_and_centre_crop(string decoder)
    {
        using var image = Waves(640, 800);
        var (_, crop) = Prepare(decoder, Jpeg(image, 95), 640, 800);

        var reference = ReferenceCrop(image, 256, 224);
        double difference = MeanAbsoluteDifference(reference, crop);
        Assert.True(difference < 3.0, $"mean absolute difference {difference:F2} per channel from the reference crop");
    }

    [Theory]
    [MemberData(nameof(DecodersAndOrientations))]
    public void Exif_orientation_is_applied(string decoder, int orientation)
    {
        using var upright = Quadrants(320, 240);
        var file = JpegWithOrientation(upright, orientation);

        var (prepared, crop) = Prepare(decoder, file, 320, 240);

        Assert.Equal(orientation, prepared.Orientation);
        Assert.Equal((320, 240), (prepared.Width, prepared.Height));
        Assert.False(prepared.SizeMismatch);
        Assert.Equal((341, 256), (prepared.ResizedWidth, prepared.ResizedHeight));
        double difference = MeanAbsoluteDifference(ReferenceCrop(upright, 256, 224), crop);
        Assert.True(difference < 4.0, $"orientation {orientation}: mean absolute difference {difference:F2} from the upright reference");
        AssertClose(Red, PixelAt(crop, 224, 30, 30), 40, "top-left");
        AssertClose(Green, PixelAt(crop, 224, 193, 30), 40, "top-right");
        AssertClose(Blue, PixelAt(crop, 224, 30, 193), 40, "bottom-left");
        AssertClose(Yellow, PixelAt(crop, 224, 193, 193), 40, "bottom-right");
    }

    [Theory]
    [MemberData(nameof(DecoderNames), MemberType = typeof(TestImages))]
    public void Red_left_blue_right_stays_so_after_rotating_orientation_6(string decoder)
    {
        using var upright = new Image<Rgb24>(300, 400);
        for (int y = 0; y < 400; y++)
        for (int x = 0; x < 300; x++)
            upright[x, y] = x < 150 ? Red : Blue;

        var (prepared, crop) = Prepare(decoder, JpegWithOrientation(upright, 6), 300, 400);

        Assert.Equal((300, 400), (prepared.Width, prepared.Height));
        for (int y = 10; y < 224; y += 50)
        {
            AssertClose(Red, PixelAt(crop, 224, 20, y), 30, $"left at y={y}");
            AssertClose(Blue, PixelAt(crop, 224, 203, y), 30, $"right at y={y}");
        }
    }

    [Theory]
    [MemberData(nameof(DecoderNames), MemberType = typeof(TestImages))]
    public void Size_differing_from_the_json_is_flagged_and_the_true_size_used(string decoder)
    {
        using var image = Waves(400, 300);
        var file = Jpeg(image);

        var (mismatched, _) = Prepare(decoder, file, 300, 400);
        var (unknown, _) = Prepare(decoder, file, 0, 0);

        Assert.True(mismatched.SizeMismatch);
        Assert.Equal((400, 300), (mismatched.Width, mismatched.Height));
        Assert.False(unknown.SizeMismatch);
    }

    [Theory]
    [MemberData(nameof(DecoderNames), MemberType = typeof(TestImages))]
    public void Stored_copy_is_an_upright_jpeg_of_the_stored_size(string decoder)
    {
        using var upright = Quadrants(400, 300);
        var options = new ImageStageOptions(StoreShorter: 120, StoreQuality: 85);

        var (prepared, _) = Prepare(decoder, JpegWithOrientation(upright, 8), 400, 300, options);

        Assert.Equal((160, 120), (prepared.ResizedWidth, prepared.ResizedHeight));
        Assert.NotNull(prepared.StoredJpeg);
        using var stored = Image.Load<Rgb24>(prepared.StoredJpeg, out var format);
        Assert.IsType<JpegFormat>(format);
        Assert.Equal((160, 120), (stored.Width, stored.Height));
        Assert.Null(stored.Metadata.ExifProfile);
        AssertClose(Red, stored[20, 20], 40, "stored top-left");
        AssertClose(Yellow, stored[140, 100], 40, "stored bottom-right");
    }

    [Theory]
    [MemberData(nameof(DecoderNames), MemberType = typeof(TestImages))]
    public void Stored_copy_larger_than_the_model_input_keeps_the_crop_right(string decoder)
    {
        using var image = Waves(800, 600);
        var options = new ImageStageOptions(StoreShorter: 400, StoreQuality: 90);

        var (prepared, crop) = Prepare(decoder, Jpeg(image, 95), 800, 600, options);

        Assert.Equal((533, 400), (prepared.ResizedWidth, prepared.ResizedHeight));
        Assert.True(MeanAbsoluteDifference(ReferenceCrop(image, 256, 224), crop) < 3.0);
    }

    [Theory]
    [MemberData(nameof(DecoderNames), MemberType = typeof(TestImages))]
    public void Small_image_is_upscaled_to_the_model_input(string decoder)
    {
        using var image = Quadrants(64, 48);
        var (prepared, crop) = Prepare(decoder, Png(image), 64, 48);

        Assert.Equal((341, 256), (prepared.ResizedWidth, prepared.ResizedHeight));
        AssertClose(Red, PixelAt(crop, 224, 20, 20), 40, "top-left");
        AssertClose(Yellow, PixelAt(crop, 224, 200, 200), 40, "bottom-right");
    }

    [Theory]
    [MemberData(nameof(DecoderNames), MemberType = typeof(TestImages))]
    public void Grayscale_jpeg_comes_out_as_equal_rgb(string decoder)
    {
        using var gray = new Image<L8>(300, 300);
        for (int y = 0; y < 300; y++)
        for (int x = 0; x < 300; x++)
            gray[x, y] = new L8((byte)(x * 255 / 299));

        var (_, crop) = Prepare(decoder, Jpeg(gray, 95, JpegColorType.Luminance), 300, 300);

        var middle = PixelAt(crop, 224, 112, 112);
        Assert.Equal(middle.R, middle.G);
        Assert.Equal(middle.G, middle.B);
        Assert.InRange(middle.R, 110, 145);
        Assert.True(PixelAt(crop, 224, 5, 112).R < PixelAt(crop, 224, 218, 112).R, "the ramp must rise left to right");
    }

    [Theory]
    [MemberData(nameof(DecoderNames), MemberType = typeof(TestImages))]
    public void Sixteen_bit_png_comes_out_as_rgb(string decoder)
    {
        using var image = new Image<Rgba64>(256, 256);
        for (int y = 0; y < 256; y++)
        for (int x = 0; x < 256; x++)
            image[x, y] = x < 128 ? new Rgba64(60000, 5000, 5000, 65535) : new Rgba64(5000, 5000, 60000, 65535);

        var (_, crop) = Prepare(decoder, Png(image, PngColorType.RgbWithAlpha, PngBitDepth.Bit16), 256, 256);

        AssertClose(new Rgb24(233, 19, 19), PixelAt(crop, 224, 20, 100), 6, "left");
        AssertClose(new Rgb24(19, 19, 233), PixelAt(crop, 224, 200, 100), 6, "right");
    }

    [Theory]
    [MemberData(nameof(DecoderNames), MemberType = typeof(TestImages))]
    public void Sixteen_bit_grayscale_png_comes_out_as_rgb(string decoder)
    {
        using var image = new Image<L16>(256, 256);
        for (int y = 0; y < 256; y++)
        for (int x = 0; x < 256; x++)
            image[x, y] = new L16(x < 128 ? (ushort)10000 : (ushort)50000);

        var (_, crop) = Prepare(decoder, Png(image, PngColorType.Grayscale, PngBitDepth.Bit16), 256, 256);

        AssertClose(new Rgb24(39, 39, 39), PixelAt(crop, 224, 20, 100), 6, "left");
        AssertClose(new Rgb24(195, 195, 195), PixelAt(crop, 224, 200, 100), 6, "right");
    }

    [Theory]
    [MemberData(nameof(DecoderNames), MemberType = typeof(TestImages))]
    public void Palette_png_comes_out_as_rgb(string decoder)
    {
        using var image = Quadrants(256, 256);

        var (_, crop) = Prepare(decoder, Png(image, PngColorType.Palette, PngBitDepth.Bit8), 256, 256);

        AssertClose(Red, PixelAt(crop, 224, 20, 20), 30, "top-left");
        AssertClose(Blue, PixelAt(crop, 224, 20, 200), 30, "bottom-left");
    }

    [Theory]
    [MemberData(nameof(DecoderNames), MemberType = typeof(TestImages))]
    public void Transparent_png_is_composited_on_white(string decoder)
    {
        using var image = new Image<Rgba32>(256, 256);
        for (int y = 0; y < 256; y++)
        for (int x = 0; x < 256; x++)
            image[x, y] = x < 128 ? new Rgba32(0, 0, 0, 0) : y < 128 ? new Rgba32(200, 0, 0, 255) : new Rgba32(0, 0, 200, 128);

        var (_, crop) = Prepare(decoder, Png(image, PngColorType.RgbWithAlpha), 256, 256);

        AssertClose(new Rgb24(255, 255, 255), PixelAt(crop, 224, 30, 100), 2, "fully transparent");
        AssertClose(new Rgb24(200, 0, 0), PixelAt(crop, 224, 200, 30), 3, "opaque");
        AssertClose(new Rgb24(127, 127, 227), PixelAt(crop, 224, 200, 200), 4, "half transparent blue on white");
    }

    [Theory]
    [MemberData(nameof(DecoderNames), MemberType = typeof(TestImages))]
    public void Progressive_jpeg_made_by_jpegtran_decodes(string decoder)
    {
        var (prepared, crop) = Prepare(decoder, File.ReadAllBytes(AssetPath("quadrants-progressive.jpg")), 96, 64);

        Assert.Equal((96, 64), (prepared.Width, prepared.Height));
        AssertClose(new Rgb24(255, 0, 0), PixelAt(crop, 224, 30, 30), 30, "top-left");
        AssertClose(new Rgb24(0, 255, 0), PixelAt(crop, 224, 193, 30), 30, "top-right");
        AssertClose(new Rgb24(0, 0, 255), PixelAt(crop, 224, 30, 193), 30, "bottom-left");
        AssertClose(new Rgb24(255, 255, 0), PixelAt(crop, 224, 193, 193), 30, "bottom-right");
    }

    [Theory]
    [MemberData(nameof(DecoderNames), MemberType = typeof(TestImages))]
    public void Cmyk_jpeg_made_by_imagemagick_comes_out_as_rgb(string decoder)
    {
        var (prepared, crop) = Prepare(decoder, File.ReadAllBytes(AssetPath("quadrants-cmyk.jpg")), 96, 64);

        Assert.Equal((96, 64), (prepared.Width, prepared.Height));
        AssertClose(new Rgb24(255, 0, 0), PixelAt(crop, 224, 30, 30), 40, "top-left");
        AssertClose(new Rgb24(0, 255, 0), PixelAt(crop, 224, 193, 30), 40, "top-right");
        AssertClose(new Rgb24(0, 0, 255), PixelAt(crop, 224, 30, 193), 40, "bottom-left");
        AssertClose(new Rgb24(255, 255, 0), PixelAt(crop, 224, 193, 193), 40, "bottom-right");
    }

    public static TheoryData<string, string> DecodersAndOtherFormats()
    {
        var data = new TheoryData<string, string>();
        foreach (var name in DecoderRegistry.Names)
            foreach (var format in new[] { "gif", "bmp", "webp" })
                data.Add(name, format);
        return data;
    }

    [Theory]
    [MemberData(nameof(DecodersAndOtherFormats))]
    public void Gif_bmp_and_webp_come_out_as_rgb(string decoder, string format)
    {
        using var image = Quadrants(200, 160);
        SixLabors.ImageSharp.Formats.IImageEncoder encoder = format switch
        {
            "gif" => new SixLabors.ImageSharp.Formats.Gif.GifEncoder(),
            "bmp" => new SixLabors.ImageSharp.Formats.Bmp.BmpEncoder(),
            _ => new SixLabors.ImageSharp.Formats.Webp.WebpEncoder { FileFormat = SixLabors.ImageSharp.Formats.Webp.WebpFileFormatType.Lossless },
        };

        var (prepared, crop) = Prepare(decoder, Encode(image, encoder), 200, 160);

        Assert.Equal((200, 160), (prepared.Width, prepared.Height));
        AssertClose(Red, PixelAt(crop, 224, 30, 30), 40, "top-left");
        AssertClose(Yellow, PixelAt(crop, 224, 193, 193), 40, "bottom-right");
    }

    [Theory]
    [MemberData(nameof(DecoderNames), MemberType = typeof(TestImages))]
    public void Bytes_after_the_end_of_image_marker_are_accepted(string decoder)
    {
        using var image = Waves(300, 200);
        byte[] file = [.. Jpeg(image), .. new byte[300], .. "camera trailer"u8];

        var (prepared, _) = Prepare(decoder, file, 300, 200);

        Assert.Equal((300, 200), (prepared.Width, prepared.Height));
    }

    [Theory]
    [MemberData(nameof(DecoderNames), MemberType = typeof(TestImages))]
    public void Same_results_from_many_threads_as_from_one(string decoder)
    {
        var files = new byte[6][];
        for (int i = 0; i < files.Length; i++)
        {
            using var image = i % 2 == 0 ? Waves(300 + 40 * i, 260) : Quadrants(260, 300 + 40 * i);
            files[i] = JpegWithOrientation(image, 1 + i);
        }
        var imageDecoder = DecoderRegistry.Create(decoder);
        var sequential = new byte[files.Length][];
        for (int i = 0; i < files.Length; i++)
        {
            sequential[i] = new byte[Defaults.CropBytes];
            imageDecoder.Prepare(files[i], 0, 0, Defaults, sequential[i]);
        }

        var parallel = new byte[files.Length * 4][];
        Parallel.For(0, parallel.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, k =>
        {
            parallel[k] = new byte[Defaults.CropBytes];
            imageDecoder.Prepare(files[k % files.Length], 0, 0, Defaults, parallel[k]);
        });

        for (int k = 0; k < parallel.Length; k++)
            Assert.True(sequential[k % files.Length].AsSpan().SequenceEqual(parallel[k]), $"run {k} differs");
    }

    [Theory]
    [MemberData(nameof(DecoderNames), MemberType = typeof(TestImages))]
    public void Pixels_live_in_pooled_buffers_not_on_the_managed_heap(string decoder)
    {
        using var image = Waves(800, 600);
        var file = Jpeg(image, 90);
        var imageDecoder = DecoderRegistry.Create(decoder);
        var crop = new byte[Defaults.CropBytes];
        imageDecoder.Prepare(file, 800, 600, Defaults, crop); // first call fills the pools

        long before = GC.GetAllocatedBytesForCurrentThread();
        imageDecoder.Prepare(file, 800, 600, Defaults, crop);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // one 800x600 RGB frame is 1.44 MB; anything per pixel would be far more
        Assert.True(allocated < 400_000, $"{decoder} allocated {allocated:N0} managed bytes for one image");
    }

    [Fact]
    public void Backends_agree_on_a_photo_like_image()
    {
        using var image = Waves(800, 533);
        var file = Jpeg(image, 90);
        var (imageSharp, imageSharpCrop) = Prepare(ImageSharpDecoder.DecoderName, file, 800, 533);
        var (skia, skiaCrop) = Prepare(SkiaDecoder.DecoderName, file, 800, 533);

        Assert.Equal(imageSharp, skia);
        double difference = MeanAbsoluteDifference(imageSharpCrop, skiaCrop);
        Assert.True(difference < 3.0, $"the backends' crops differ by {difference:F2} per channel");
    }
}
