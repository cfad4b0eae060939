using System.Runtime.InteropServices;
using System.Text.Json;

namespace Pipeline.Corpus;

/// <summary>
/// Pass 1 of reading one split: the compact join maps built from its label file and box file, so that pass 2 can
/// stream the images in file order and attach label and boxes to each. Per image it holds an id->ordinal entry and
/// one category int; boxes live in one array sorted by image (a CSR layout), with no per-annotation objects.
/// Every issue of the split is found and counted here, so counts do not depend on how far pass 2 is enumerated.
/// </summary>
internal sealed class SplitIndex
{
    /// <summary>Category marker of an image that is skipped (duplicate id, unsafe name, bad size).</summary>
    private const int SkippedImage = -2;

    private readonly Dictionary<long, int> _ordinalOfId;
    private readonly int[] _categoryOf;        // by ordinal: category id, -1 without label, SkippedImage
    private readonly int[] _boxStart;          // by ordinal, ImageCount + 1 entries, into _boxes
    private readonly List<BoxAnnotation> _boxes;

    private SplitIndex(Dictionary<long, int> ordinalOfId, int[] categoryOf, int[] boxStart, List<BoxAnnotation> boxes)
    {
        _ordinalOfId = ordinalOfId;
        _categoryOf = categoryOf;
        _boxStart = boxStart;
        _boxes = boxes;
    }

    /// <summary>Image objects in the label file, skipped ones included (pass 2 must meet exactly as many).</summary>
    public int ImageCount => _categoryOf.Length;

    /// <summary>Whether the image met at <paramref name="ordinal"/> with <paramref name="id"/> is yielded, and its label.</summary>
    public bool TryGetYielded(long id, int ordinal, out int categoryId, out bool known)
    {
        categoryId = -1;
        known = _ordinalOfId.TryGetValue(id, out int firstOrdinal) && ordinal < _categoryOf.Length;
        if (!known || firstOrdinal != ordinal || _categoryOf[ordinal] == SkippedImage)
            return false;
        categoryId = _categoryOf[ordinal];
        return true;
    }

    /// <summary>A fresh array of the boxes of the image at <paramref name="ordinal"/>, in box-file order.</summary>
    public BoxAnnotation[] BoxesOf(int ordinal)
    {
        int start = _boxStart[ordinal], count = _boxStart[ordinal + 1] - start;
        return count == 0 ? Array.Empty<BoxAnnotation>() : CollectionsMarshal.AsSpan(_boxes).Slice(start, count).ToArray();
    }

    public static SplitIndex Build(
        string split, string labelsPath, string? boxesPath, IReadOnlyDictionary<int, Category> categories,
        CorpusIssues issues, CorpusReaderOptions options)
    {
        var builder = new Builder(split, categories, issues, options);
        builder.ReadLabelFile(labelsPath);
        if (boxesPath is not null)
            builder.ReadBoxFile(boxesPath);
        return builder.Finish();
    }

    /// <summary>The start of an issue message: file, byte offset and element (only formatted when an issue is met).</summary>
    private static string At(string file, long offset, string element, long id) => $"{file} byte {offset}: {element} {id}";

    private sealed class Builder(
        string split, IReadOnlyDictionary<int, Category> categories, CorpusIssues issues, CorpusReaderOptions options)
    {
        private readonly Dictionary<long, int> _ordinalOfId = new();
        private readonly List<int> _categoryOf = new();
        private readonly List<int> _width = new();
        private readonly List<int> _height = new();
        private readonly List<BoxAnnotation> _boxes = new();
        private readonly List<long> _boxOrder = new();   // (image ordinal << 32) | box sequence: sorts stably by image

        public void ReadLabelFile(string path)
        {
            string file = Path.GetFileName(path);
            bool labelled = split != Splits.Test;
            CorpusSection wanted = labelled ? CorpusSection.Images | CorpusSection.Annotations : CorpusSection.Images;
            var labelIds = new HashSet<long>();
            var pendingLabels = new List<LabelElement>();
            bool imagesSeen = false, labelsResolved = false;

            using (var cursor = new JsonFileCursor(path))
            {
                Utf8JsonReader reader = cursor.Begin();
                CorpusSection section;
                while ((section = cursor.NextElement(ref reader, wanted)) != CorpusSection.None)
                {
                    if (section == CorpusSection.Images)
                    {
                        if (labelsResolved)
                            throw cursor.Error(ref reader, "a second 'images' array after 'annotations' is not supported");
                        imagesSeen = true;
                        AddImage(file, CorpusElements.ReadImage(cursor, ref reader, withFileName: true));
                    }
                    else
                    {
                        LabelElement label = CorpusElements.ReadLabel(cursor, ref reader);
                        // Labels before any image must wait for the images; after them they are resolved at once.
                        if (imagesSeen)
                        {
                            labelsResolved = true;
                            ResolveLabel(file, label, labelIds);
                        }
                        else
                        {
                            pendingLabels.Add(label);
                        }
                    }
                }
            }
            foreach (LabelElement label in pendingLabels)
                ResolveLabel(file, label, labelIds);

            if (!labelled)
                return;
            Span<int> categoryOf = CollectionsMarshal.AsSpan(_categoryOf);
            foreach (KeyValuePair<long, int> entry in _ordinalOfId)
                if (categoryOf[entry.Value] == -1)
                    issues.Add(CorpusIssueKind.ImageWithoutLabel,
                        $"{file}: image {entry.Key} has no label annotation; kept with category -1");
        }

        public void ReadBoxFile(string path)
        {
            string file = Path.GetFileName(path);
            var boxIds = new HashSet<long>();
            double tolerance = options.BoxEdgeTolerancePixels;
            uint sequence = 0;
            using var cursor = new JsonFileCursor(path);
            Utf8JsonReader reader = cursor.Begin();
            Span<int> categoryOf = CollectionsMarshal.AsSpan(_categoryOf);
            while (cursor.NextElement(ref reader, CorpusSection.Annotations) != CorpusSection.None)
            {
                BoxElement box = CorpusElements.ReadBox(cursor, ref reader);
                if (!boxIds.Add(box.Id))
                {
                    issues.Add(CorpusIssueKind.DuplicateAnnotationId, $"{At(file, box.Offset, "box", box.Id)}: id already used in this file; skipped");
                    continue;
                }
                if (!_ordinalOfId.TryGetValue(box.ImageId, out int ordinal))
                {
                    issues.Add(CorpusIssueKind.BoxForMissingImage, $"{At(file, box.Offset, "box", box.Id)}: image {box.ImageId} is not in the {split} images; skipped");
                    continue;
                }
                if (!categories.ContainsKey(box.CategoryId))
                {
                    issues.Add(CorpusIssueKind.BoxForMissingCategory, $"{At(file, box.Offset, "box", box.Id)}: category {box.CategoryId} is not defined; skipped");
                    continue;
                }
                int label = categoryOf[ordinal];
                if (label == SkippedImage)
                    continue;   // its image was skipped and counted already
                if (!(box.Width > 0) || !(box.Height > 0))
                {
                    issues.Add(CorpusIssueKind.NonPositiveBoxSize,
                        $"{At(file, box.Offset, "box", box.Id)}: size {box.Width}x{box.Height} is not positive; skipped");
                    continue;
                }
                int imageWidth = _width[ordinal], imageHeight = _height[ordinal];
                if (box.X < -tolerance || box.Y < -tolerance
                    || box.X + box.Width > imageWidth + tolerance || box.Y + box.Height > imageHeight + tolerance)
                {
                    issues.Add(CorpusIssueKind.BoxOutsideImage,
                        $"{At(file, box.Offset, "box", box.Id)}: [{box.X}, {box.Y}, {box.Width}, {box.Height}] reaches outside image {box.ImageId} of {imageWidth}x{imageHeight}; skipped");
                    continue;
                }
                if (label >= 0 && label != box.CategoryId)
                    issues.Add(CorpusIssueKind.BoxCategoryDiffersFromLabel,
                        $"{At(file, box.Offset, "box", box.Id)}: category {box.CategoryId} differs from image {box.ImageId}'s label {label}; kept");
                _boxOrder.Add(((long)ordinal << 32) | sequence++);
                _boxes.Add(new BoxAnnotation(box.Id, box.X, box.Y, box.Width, box.Height));
            }
        }

        public SplitIndex Finish()
        {
            int imageCount = _categoryOf.Count;
            CollectionsMarshal.AsSpan(_boxOrder).Sort(CollectionsMarshal.AsSpan(_boxes));
            int[] boxStart = new int[imageCount + 1];
            foreach (long key in _boxOrder)
                boxStart[(int)(key >> 32) + 1]++;
            for (int i = 0; i < imageCount; i++)
                boxStart[i + 1] += boxStart[i];
            return new SplitIndex(_ordinalOfId, _categoryOf.ToArray(), boxStart, _boxes);
        }

        private void AddImage(string file, ImageElement image)
        {
            int ordinal = _categoryOf.Count;
            _width.Add(image.Width);
            _height.Add(image.Height);
            if (!_ordinalOfId.TryAdd(image.Id, ordinal))
            {
                issues.Add(CorpusIssueKind.DuplicateImageId, $"{At(file, image.Offset, "image", image.Id)}: id already used in this file; skipped");
                _categoryOf.Add(SkippedImage);
                return;
            }
            string? problem = CorpusPaths.FileNameProblem(image.FileName);
            if (problem is not null)
            {
                issues.Add(CorpusIssueKind.UnsafeFileName, $"{At(file, image.Offset, "image", image.Id)}: {problem} (\"{image.FileName}\"); skipped");
                _categoryOf.Add(SkippedImage);
                return;
            }
            if (image.Width <= 0 || image.Height <= 0)
            {
                issues.Add(CorpusIssueKind.NonPositiveImageSize,
                    $"{At(file, image.Offset, "image", image.Id)}: size {image.Width}x{image.Height} is not positive; skipped");
                _categoryOf.Add(SkippedImage);
                return;
            }
            _categoryOf.Add(-1);
        }

        private void ResolveLabel(string file, LabelElement label, HashSet<long> labelIds)
        {
            if (!labelIds.Add(label.Id))
            {
                issues.Add(CorpusIssueKind.DuplicateAnnotationId, $"{At(file, label.Offset, "annotation", label.Id)}: id already used in this file; skipped");
                return;
            }
            if (!_ordinalOfId.TryGetValue(label.ImageId, out int ordinal))
            {
                issues.Add(CorpusIssueKind.LabelForMissingImage, $"{At(file, label.Offset, "annotation", label.Id)}: image {label.ImageId} is not in the file; skipped");
                return;
            }
            if (!categories.ContainsKey(label.CategoryId))
            {
                issues.Add(CorpusIssueKind.LabelForMissingCategory, $"{At(file, label.Offset, "annotation", label.Id)}: category {label.CategoryId} is not defined; skipped");
                return;
            }
            ref int categoryOf = ref CollectionsMarshal.AsSpan(_categoryOf)[ordinal];
            if (categoryOf == SkippedImage)
                return;   // its image was skipped and counted already
            if (categoryOf != -1)
            {
                issues.Add(CorpusIssueKind.ExtraLabel,
                    $"{At(file, label.Offset, "annotation", label.Id)}: image {label.ImageId} already has label {categoryOf}; this label {label.CategoryId} skipped");
                return;
            }
            categoryOf = label.CategoryId;
        }
    }
}
