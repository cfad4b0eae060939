using Pipeline.Boxes;
using Pipeline.Corpus;
using Pipeline.Imaging;
using Pipeline.Tests.Imaging;

namespace Pipeline.Tests.Boxes;

public class BoxStageTests
{
    private static BoxAnnotation Box(double x, double y, double w, double h) => new(1, x, y, w, h);

    [Fact]
    public void Relative_size_is_the_square_root_of_area_over_image_area()
    {
        var rows = BoxStage.Project([Box(10, 20, 100, 100)], 400, 400, 256, 256, null);

        Assert.Equal(0.25f, Assert.Single(rows).RelativeSize, 6);
    }

    [Fact]
    public void Relative_size_uses_the_true_size_given_not_anything_else()
    {
        // 60x240 box: sqrt(14400) = 120; image 800x450: sqrt(360000) = 600
        var rows = BoxStage.Project([Box(0, 0, 60, 240)], 800, 450, 455, 256, null);

        Assert.Equal(0.2f, Assert.Single(rows).RelativeSize, 6);
    }

    [Fact]
    public void Boxes_are_scaled_into_the_resized_image()
    {
        var rows = BoxStage.Project([Box(100, 60, 200, 120)], 800, 600, 400, 300, null);

        var row = Assert.Single(rows);
        Assert.Equal((50f, 30f, 100f, 60f), (row.X, row.Y, row.W, row.H));
    }

    [Fact]
    public void Box_reaching_outside_is_clamped_to_the_image()
    {
        var rows = BoxStage.Project([Box(-50, 350, 150, 100)], 400, 400, 400, 400, null);

        var row = Assert.Single(rows);
        Assert.Equal((0f, 350f, 100f, 50f), (row.X, row.Y, row.W, row.H));
        Assert.Equal((float)(Math.Sqrt(100 * 50) / 400), row.RelativeSize, 6);
    }

    [Fact]
    public void Boxes_without_area_inside_the_image_are_dropped()
    {
        BoxAnnotation[] boxes =
        [
            Box(500, 500, 10, 10),   // wholly outside
            Box(10, 10, 0, 30),      // zero width
            Box(10, 10, -5, 30),     // negative width
            Box(double.NaN, 0, 5, 5),
            Box(20, 20, 40, 40),     // the one good box
        ];

        var rows = BoxStage.Project(boxes, 400, 300, 400, 300, null);

        Assert.Equal(20f, Assert.Single(rows).X);
    }

    [Fact]
    public void Box_covering_the_whole_image_has_relative_size_one()
    {
        var rows = BoxStage.Project([Box(-10, -10, 1000, 1000)], 640, 480, 341, 256, null);

        var row = Assert.Single(rows);
        Assert.Equal(1f, row.RelativeSize, 6);
        Assert.Equal((0f, 0f, 341f, 256f), (row.X, row.Y, row.W, row.H));
    }

    [Fact]
    public void Kept_boxes_are_counted_in_the_histogram()
    {
        var histogram = new BoxSizeHistogram();

        BoxStage.Project([Box(0, 0, 100, 100), Box(0, 0, 200, 200), Box(900, 900, 5, 5)], 400, 400, 256, 256, histogram);

        Assert.Equal(2, histogram.Count);
        Assert.Equal(1, histogram.CountIn(BoxSizeHistogram.BinOf(0.25)));
        Assert.Equal(1, histogram.CountIn(BoxSizeHistogram.BinOf(0.5)));
        Assert.Equal(0.25, histogram.Min);
        Assert.Equal(0.5, histogram.Max);
        Assert.Equal(0.375, histogram.Mean, 9);
    }

    [Fact]
    public void No_boxes_give_no_rows()
    {
        var rows = BoxStage.Project([], 400, 300, 341, 256, null);
        Assert.Empty(rows);
    }

    [Fact]
    public void Non_positive_image_size_is_an_argument_error()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => BoxStage.Project([Box(0, 0, 1, 1)], 0, 300, 341, 256, null));
    }

    [Theory]
    [MemberData(nameof(TestImages.DecoderNames), MemberType = typeof(TestImages))]
    public void Boxes_follow_the_stored_copy_of_a_decoded_rotated_image(string decoder)
    {
        // upright 400x300 photo stored on disk as 300x400 with EXIF orientation 6; the JSON says 400x300
        using var upright = TestImages.Quadrants(400, 300);
        var options = new ImageStageOptions(StoreShorter: 150);
        var crop = new byte[options.CropBytes];
        var prepared = DecoderRegistry.Create(decoder).Prepare(TestImages.JpegWithOrientation(upright, 6), 400, 300, options, crop);

        var rows = BoxStage.Project([Box(100, 75, 200, 150)], prepared.Width, prepared.Height,
            prepared.ResizedWidth, prepared.ResizedHeight, null);

        var row = Assert.Single(rows);
        Assert.Equal((200, 150), (prepared.ResizedWidth, prepared.ResizedHeight));
        Assert.Equal((50f, 37.5f, 100f, 75f), (row.X, row.Y, row.W, row.H));
        Assert.Equal(0.5f, row.RelativeSize, 6);
    }
}
