using System.Text.Json;

namespace Pipeline.Corpus;

/// <summary>
/// Pass 1 of reading one split: the compact join maps built from its label file and box file, so that pass 2 can
/// stream the images in file order and attach label and boxes to each. Per image (by file ordinal) it keeps the id,
/// one category int and the index of its first box; boxes are kept in box-file order, each linked to the next box
/// of its image, in chunked storage that never copies as it grows. The id->ordinal map and the image sizes serve
/// only the join and are dropped before pass 2. Every issue of the split is found and counted here, so the counts
/// do not depend on how far pass 2 is enumerated.
/// </summary>
internal sealed class SplitIndex
{
    /// <summary>Category marker of an image that is skipped (duplicate id, unsafe name, bad size).</summary>
    private const int SkippedImage = -2;

    private readonly ChunkedList<long> _idOf;             // by ordinal: the image id met there
    private readonly ChunkedList<int> _categoryOf;        // by ordinal: category id, -1 without label, SkippedImage
    private readonly int[] _firstBoxOf;                   // by ordinal: index into _boxes, -1 without boxes
    private readonly ChunkedList<BoxAnnotation> _boxes;   // box-file order
    private readonly ChunkedList<int> _nextBoxOf;         // by box: the next box of the same image, -1 at the end

    private SplitIndex(ChunkedList<long> idOf, ChunkedList<int> categoryOf, int[] firstBoxOf,
        ChunkedList<BoxAnnotation> boxes, ChunkedList<int> nextBoxOf)
    {
        _idOf = idOf;
        _categoryOf = categoryOf;
        _firstBoxOf = firstBoxOf;
        _boxes = boxes;
        _nextBoxOf = nextBoxOf;
    }

    /// <summary>Image objects in the label file, skipped ones included (pass 2 must meet exactly as many).</summary>
    public int ImageCount => _categoryOf.Count;

    /// <summary>
    /// Whether the image met at <paramref name="ordinal"/> with <paramref name="id"/> is yielded, and its label;
    /// <paramref name="known"/> is false when pass 1 met another image there (the file changed in between).
    /// </summary>
    public bool TryGetYielded(long id, int ordinal, out int categoryId, out bool known)
    {
        categoryId = -1;
        known = ordinal < _idOf.Count && _idOf[ordinal] == id;
        if (!known || _categoryOf[ordinal] == SkippedImage)
            return false;
        categoryId = _categoryOf[ordinal];
        return true;
    }

    /// <summary>A fresh array of the boxes of the image at <paramref name="ordinal"/>, in box-file order.</summary>
    public BoxAnnotation[] BoxesOf(int ordinal)
    {
        int first = _firstBoxOf.Length == 0 ? -1 : _firstBoxOf[ordinal];
        if (first < 0)
            return Array.Empty<BoxAnnotation>();
        int count = 0;
        for (int box = first; box >= 0; box = _nextBoxOf[box])
            count++;
        var boxes = new BoxAnnotation[count];
        int next = 0;
        for (int box = first; box >= 0; box = _nextBoxOf[box])
            boxes[next++] = _boxes[box];
        return boxes;
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
        private readonly IdMap _ordinalOfId = new();
        private readonly ChunkedList<long> _idOf = new();
        private readonly ChunkedList<int> _categoryOf = new();
        private readonly ChunkedList<int> _width = new();
        private readonly ChunkedList<int> _height = new();
        private readonly ChunkedList<BoxAnnotation> _boxes = new();
        private readonly ChunkedList<int> _nextBoxOf = new();
        private int[] _firstBoxOf = Array.Empty<int>();

        public void ReadLabelFile(string path)
        {
            string file = Path.GetFileName(path);
            bool labelled = split != Splits.Test;
            CorpusSection wanted = labelled ? CorpusSection.Images | CorpusSection.Annotations : CorpusSection.Images;
            var labelIds = new IdMap();
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
                        AddImage(file, CorpusElements.ReadImage(cursor, ref reader, withFileName: false));
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
            for (int ordinal = 0; ordinal < _categoryOf.Count; ordinal++)
                if (_categoryOf[ordinal] == -1)
                    issues.Add(CorpusIssueKind.ImageWithoutLabel,
                        $"{file}: image {_idOf[ordinal]} has no label annotation; kept with category -1");
        }

        public void ReadBoxFile(string path)
        {
            string file = Path.GetFileName(path);
            var boxIds = new IdMap();
            double tolerance = options.BoxEdgeTolerancePixels;
            _firstBoxOf = new int[_categoryOf.Count];
            Array.Fill(_firstBoxOf, -1);
            int[] lastBoxOf = new int[_categoryOf.Count];

            using var cursor = new JsonFileCursor(path);
            Utf8JsonReader reader = cursor.Begin();
            while (cursor.NextElement(ref reader, CorpusSection.Annotations) != CorpusSection.None)
            {
                BoxElement box = CorpusElements.ReadBox(cursor, ref reader);
                if (!boxIds.TryAdd(box.Id, 0))
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
                int label = _categoryOf[ordinal];
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

                int index = _boxes.Count;
                _boxes.Add(new BoxAnnotation(box.Id, box.X, box.Y, box.Width, box.Height));
                _nextBoxOf.Add(-1);
                if (_firstBoxOf[ordinal] < 0)
                    _firstBoxOf[ordinal] = index;
                else
                    _nextBoxOf[lastBoxOf[ordinal]] = index;
                lastBoxOf[ordinal] = index;
            }
        }

        public SplitIndex Finish() => new(_idOf, _categoryOf, _firstBoxOf, _boxes, _nextBoxOf);

        private void AddImage(string file, ImageElement image)
        {
            int ordinal = _categoryOf.Count;
            _idOf.Add(image.Id);
            _width.Add(image.Width);
            _height.Add(image.Height);
            if (!_ordinalOfId.TryAdd(image.Id, ordinal))
            {
                issues.Add(CorpusIssueKind.DuplicateImageId, $"{At(file, image.Offset, "image", image.Id)}: id already used in this file; skipped");
                _categoryOf.Add(SkippedImage);
                return;
            }
            if (image.FileNameProblem is string problem)
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

        private void ResolveLabel(string file, LabelElement label, IdMap labelIds)
        {
            if (!labelIds.TryAdd(label.Id, 0))
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
            ref int categoryOf = ref _categoryOf[ordinal];
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
