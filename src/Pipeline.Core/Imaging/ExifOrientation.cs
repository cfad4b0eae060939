namespace Pipeline.Imaging;

/// <summary>
/// EXIF orientation (tag 0x0112): how the stored ("raw") pixels map to the upright ("display") picture.
/// 1 upright, 2 mirrored, 3 rotated 180°, 4 flipped, 5 transposed, 6 needs 90° clockwise, 7 transverse,
/// 8 needs 90° counter-clockwise. Both backends orient through this one mapping, so they agree by construction.
/// </summary>
internal static class ExifOrientation
{
    /// <summary>Values outside 1..8 (absent, garbage) mean upright, as browsers and Pillow treat them.</summary>
    public static int Normalize(int value) => value is >= 1 and <= 8 ? value : 1;

    /// <summary>Orientations 5..8 exchange width and height.</summary>
    public static bool SwapsAxes(int orientation) => orientation >= 5;

    /// <summary>
    /// Maps the display rectangle [x0, x0+width) × [y0, y0+height) of a picture whose raw pixels are
    /// rawWidth × rawHeight into raw coordinates.
    /// </summary>
    public static (int X, int Y, int Width, int Height) DisplayRectToRaw(
        int orientation, int x0, int y0, int width, int height, int rawWidth, int rawHeight)
    {
        int x1 = x0 + width, y1 = y0 + height;
        return orientation switch
        {
            2 => (rawWidth - x1, y0, width, height),
            3 => (rawWidth - x1, rawHeight - y1, width, height),
            4 => (x0, rawHeight - y1, width, height),
            5 => (y0, x0, height, width),
            6 => (y0, rawHeight - x1, height, width),
            7 => (rawWidth - y1, rawHeight - x1, height, width),
            8 => (rawWidth - y1, x0, height, width),
            _ => (x0, y0, width, height),
        };
    }

    /// <summary>
    /// Copies raw pixels (<paramref name="rawBytesPerPixel"/> 3 or 4, RGB first) into the upright picture as
    /// <paramref name="displayBytesPerPixel"/> 3 (RGB) or 4 (RGBA, alpha set opaque). Any fourth raw byte is dropped.
    /// </summary>
    public static void CopyUpright(
        ReadOnlySpan<byte> raw, int rawWidth, int rawHeight, int rawBytesPerPixel, int orientation,
        Span<byte> display, int displayBytesPerPixel)
    {
        bool swap = SwapsAxes(orientation);
        int width = swap ? rawHeight : rawWidth, height = swap ? rawWidth : rawHeight;
        if (raw.Length < rawWidth * rawHeight * rawBytesPerPixel)
            throw new ArgumentException("raw buffer smaller than its size", nameof(raw));
        if (display.Length < width * height * displayBytesPerPixel)
            throw new ArgumentException("display buffer smaller than the upright size", nameof(display));

        if (orientation == 1 && rawBytesPerPixel == displayBytesPerPixel)
        {
            raw[..(rawWidth * rawHeight * rawBytesPerPixel)].CopyTo(display);
            return;
        }

        // raw position of display pixel (x, y) is (ax·x + bx·y + cx, ay·x + by·y + cy)
        var (ax, bx, cx, ay, by, cy) = orientation switch
        {
            2 => (-1, 0, rawWidth - 1, 0, 1, 0),
            3 => (-1, 0, rawWidth - 1, 0, -1, rawHeight - 1),
            4 => (1, 0, 0, 0, -1, rawHeight - 1),
            5 => (0, 1, 0, 1, 0, 0),
            6 => (0, 1, 0, -1, 0, rawHeight - 1),
            7 => (0, -1, rawWidth - 1, -1, 0, rawHeight - 1),
            8 => (0, -1, rawWidth - 1, 1, 0, 0),
            _ => (1, 0, 0, 0, 1, 0),
        };
        int stepX = (ax + ay * rawWidth) * rawBytesPerPixel;
        int target = 0;
        for (int y = 0; y < height; y++)
        {
            int source = ((by * y + cy) * rawWidth + bx * y + cx) * rawBytesPerPixel;
            for (int x = 0; x < width; x++)
            {
                display[target] = raw[source];
                display[target + 1] = raw[source + 1];
                display[target + 2] = raw[source + 2];
                if (displayBytesPerPixel == 4)
                    display[target + 3] = 255;
                target += displayBytesPerPixel;
                source += stepX;
            }
        }
    }
}
