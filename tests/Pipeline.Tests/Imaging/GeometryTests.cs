using Pipeline.Imaging;

namespace Pipeline.Tests.Imaging;

/// <summary>The resize arithmetic and the orientation mapping both backends share.</summary>
public class GeometryTests
{
    [Theory]
    [InlineData(800, 600, 256, 341, 256)]
    [InlineData(600, 800, 256, 256, 341)]
    [InlineData(800, 533, 256, 384, 256)]
    [InlineData(256, 256, 256, 256, 256)]
    [InlineData(100, 10000, 256, 256, 25600)]
    [InlineData(10000, 1, 3, 30000, 3)]
    public void Shorter_side_resize_rounds_the_longer_side_half_up(int width, int height, int shorter, int expectedWidth, int expectedHeight)
    {
        Assert.Equal((expectedWidth, expectedHeight), ResizePlan.ShorterSideTo(width, height, shorter));
    }

    [Fact]
    public void Plan_swaps_axes_for_rotated_orientations()
    {
        // stored 600 wide x 800 high, orientation 6: upright it is 800 x 600
        var plan = ResizePlan.For(600, 800, 6, new ImageStageOptions(StoreShorter: 300));

        Assert.Equal((800, 600), (plan.Width, plan.Height));
        Assert.Equal((341, 256), (plan.ResizedWidth, plan.ResizedHeight));
        Assert.Equal((256, 341), (plan.RawResizedWidth, plan.RawResizedHeight));
        Assert.Equal((400, 300), (plan.StoredWidth, plan.StoredHeight));
        Assert.Equal((300, 400), (plan.RawStoredWidth, plan.RawStoredHeight));
        Assert.Equal(300, plan.NeededShorterSide);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    public void Rectangle_mapping_agrees_with_the_pixel_copy(int orientation)
    {
        // raw 5 x 3 picture whose every pixel holds its own raw index
        const int rawWidth = 5, rawHeight = 3;
        var raw = new byte[rawWidth * rawHeight * 3];
        for (int i = 0; i < rawWidth * rawHeight; i++) raw[i * 3] = (byte)i;
        bool swap = orientation >= 5;
        int width = swap ? rawHeight : rawWidth, height = swap ? rawWidth : rawHeight;
        var upright = new byte[width * height * 3];

        ExifOrientation.CopyUpright(raw, rawWidth, rawHeight, 3, orientation, upright, 3);

        // every single upright pixel, mapped as a 1x1 rectangle, must land on the raw pixel the copy took
        for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
        {
            var (rx, ry, rw, rh) = ExifOrientation.DisplayRectToRaw(orientation, x, y, 1, 1, rawWidth, rawHeight);
            Assert.Equal((1, 1), (rw, rh));
            Assert.Equal(ry * rawWidth + rx, upright[(y * width + x) * 3]);
        }
    }

    [Fact]
    public void Orientation_6_turns_the_top_row_into_the_right_column()
    {
        // raw 3 x 2: top row a b c, bottom row d e f; turned 90° clockwise it reads d a / e b / f c
        byte[] raw = [1, 0, 0, 2, 0, 0, 3, 0, 0, 4, 0, 0, 5, 0, 0, 6, 0, 0];
        var upright = new byte[18];

        ExifOrientation.CopyUpright(raw, 3, 2, 3, 6, upright, 3);

        byte[] expected = [4, 0, 0, 1, 0, 0, 5, 0, 0, 2, 0, 0, 6, 0, 0, 3, 0, 0];
        Assert.Equal(expected, upright);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(9, 1)]
    [InlineData(-3, 1)]
    [InlineData(6, 6)]
    public void Invalid_orientation_values_mean_upright(int value, int expected)
    {
        Assert.Equal(expected, ExifOrientation.Normalize(value));
    }
}
