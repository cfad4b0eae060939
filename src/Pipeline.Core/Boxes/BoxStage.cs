using Pipeline.Corpus;
using Pipeline.Schema;

namespace Pipeline.Boxes;

/// <summary>
/// The box stage: clamps each annotated box to the true (decoded, upright) image, measures its relative size
/// sqrt(w·h)/sqrt(W·H) on that true size, counts it in the (split, super-class) histogram and scales it into the
/// resized image for detection training.
/// </summary>
public static class BoxStage
{
    /// <param name="boxes">The JSON's boxes, in pixels of the original image, origin top-left.</param>
    /// <param name="width">True image width (after orientation), not the JSON's.</param>
    /// <param name="height">True image height.</param>
    /// <param name="resizedWidth">Width of the image the rows refer to (PreparedImage.ResizedWidth).</param>
    /// <param name="resizedHeight">Height of that image.</param>
    /// <param name="histogram">Receives every kept box's relative size; null to skip.</param>
    /// <returns>The kept boxes, clamped to the image and scaled into the resized image's pixels; a box with no area inside
    /// the image (wholly outside, zero or negative size, NaN) has no row.</returns>
    public static BoxRow[] Project(ReadOnlySpan<BoxAnnotation> boxes, int width, int height,
        int resizedWidth, int resizedHeight, BoxSizeHistogram? histogram)
    {
        if (width <= 0 || height <= 0)
            throw new ArgumentOutOfRangeException(nameof(width), $"image size {width}x{height} must be positive");
        if (resizedWidth <= 0 || resizedHeight <= 0)
            throw new ArgumentOutOfRangeException(nameof(resizedWidth), $"resized size {resizedWidth}x{resizedHeight} must be positive");
        if (boxes.IsEmpty)
            return [];

        int kept = 0;
        foreach (var box in boxes)
            if (Clamp(box, width, height, out _, out _, out _, out _))
                kept++;

        var rows = kept == 0 ? [] : new BoxRow[kept];
        double scaleX = (double)resizedWidth / width, scaleY = (double)resizedHeight / height;
        double imageSide = Math.Sqrt((double)width * height);
        int row = 0;
        foreach (var box in boxes)
        {
            if (!Clamp(box, width, height, out double x0, out double y0, out double x1, out double y1))
                continue;
            double w = x1 - x0, h = y1 - y0;
            double relativeSize = Math.Min(1, Math.Sqrt(w * h) / imageSide);
            histogram?.Add(relativeSize);
            rows[row++] = new BoxRow((float)(x0 * scaleX), (float)(y0 * scaleY), (float)(w * scaleX), (float)(h * scaleY), (float)relativeSize);
        }
        return rows;
    }

    /// <summary>Cuts the box to [0, W]×[0, H]; false when nothing of positive area is left.</summary>
    private static bool Clamp(in BoxAnnotation box, int width, int height,
        out double x0, out double y0, out double x1, out double y1)
    {
        x0 = Math.Clamp(box.X, 0, width);
        y0 = Math.Clamp(box.Y, 0, height);
        x1 = Math.Clamp(box.X + box.Width, 0, width);
        y1 = Math.Clamp(box.Y + box.Height, 0, height);
        // NaN fails every comparison below, so NaN boxes are dropped
        return x1 - x0 > 0 && y1 - y0 > 0;
    }
}
