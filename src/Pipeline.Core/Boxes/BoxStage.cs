using Pipeline.Corpus;
using Pipeline.Schema;

namespace Pipeline.Boxes;

/// <summary>The boxes of one image as output rows, and what had to be corrected to get them.</summary>
/// <param name="Rows">Boxes clamped to the image and scaled into the resized image's pixels.</param>
/// <param name="Clamped">Boxes that reached outside the image and were cut to it (still in <paramref name="Rows"/>).</param>
/// <param name="Dropped">Boxes with no area inside the image (wholly outside, zero or negative size, NaN): not in <paramref name="Rows"/>.</param>
public readonly record struct ProjectedBoxes(BoxRow[] Rows, int Clamped, int Dropped);

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
    public static ProjectedBoxes Project(ReadOnlySpan<BoxAnnotation> boxes, int width, int height,
        int resizedWidth, int resizedHeight, BoxSizeHistogram? histogram)
    {
        if (width <= 0 || height <= 0)
            throw new ArgumentOutOfRangeException(nameof(width), $"image size {width}x{height} must be positive");
        if (resizedWidth <= 0 || resizedHeight <= 0)
            throw new ArgumentOutOfRangeException(nameof(resizedWidth), $"resized size {resizedWidth}x{resizedHeight} must be positive");
        if (boxes.IsEmpty)
            return new ProjectedBoxes([], 0, 0);

        int kept = 0, clamped = 0;
        foreach (var box in boxes)
        {
            if (Clamp(box, width, height, out _, out _, out _, out _, out bool wasClamped))
            {
                kept++;
                if (wasClamped) clamped++;
            }
        }

        var rows = kept == 0 ? [] : new BoxRow[kept];
        double scaleX = (double)resizedWidth / width, scaleY = (double)resizedHeight / height;
        double imageSide = Math.Sqrt((double)width * height);
        int row = 0;
        foreach (var box in boxes)
        {
            if (!Clamp(box, width, height, out double x0, out double y0, out double x1, out double y1, out _))
                continue;
            double w = x1 - x0, h = y1 - y0;
            double relativeSize = Math.Min(1, Math.Sqrt(w * h) / imageSide);
            histogram?.Add(relativeSize);
            rows[row++] = new BoxRow((float)(x0 * scaleX), (float)(y0 * scaleY), (float)(w * scaleX), (float)(h * scaleY), (float)relativeSize);
        }
        return new ProjectedBoxes(rows, clamped, boxes.Length - kept);
    }

    /// <summary>Cuts the box to [0, W]×[0, H]; false when nothing of positive area is left.</summary>
    private static bool Clamp(in BoxAnnotation box, int width, int height,
        out double x0, out double y0, out double x1, out double y1, out bool wasClamped)
    {
        x0 = Math.Clamp(box.X, 0, width);
        y0 = Math.Clamp(box.Y, 0, height);
        x1 = Math.Clamp(box.X + box.Width, 0, width);
        y1 = Math.Clamp(box.Y + box.Height, 0, height);
        // NaN fails every comparison below, so NaN boxes are dropped
        bool hasArea = x1 - x0 > 0 && y1 - y0 > 0;
        wasClamped = x0 != box.X || y0 != box.Y || x1 != box.X + box.Width || y1 != box.Y + box.Height;
        return hasArea;
    }
}
