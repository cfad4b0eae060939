using System.Text.Json;
using Pipeline.Corpus;

namespace Pipeline.Tests.Corpus;

/// <summary>Odd content in well-formed files: reported, counted and skipped, never a crash.</summary>
public class CorpusIssuesTests
{
    private const string TwoImages = """
        [{"id": 1, "width": 100, "height": 50, "file_name": "a.jpg"},
         {"id": 2, "width": 40, "height": 80, "file_name": "b.jpg"}]
        """;

    private const string TwoLabels = """
        [{"id": 11, "image_id": 1, "category_id": 0}, {"id": 12, "image_id": 2, "category_id": 1}]
        """;

    private static (CorpusImage[] Images, CorpusIssues Issues) ReadTrain(string images, string labels, string? boxes = null,
        CorpusReaderOptions? options = null)
    {
        using var corpus = new TempCorpus().Write(CorpusReader.TrainFileName, TempCorpus.File(images, labels));
        if (boxes is not null)
            corpus.Write(CorpusReader.TrainBoxesFileName, TempCorpus.File(images: null, boxes));
        CorpusReader reader = corpus.Reader(options);
        return (reader.ReadImages(Splits.Train).ToArray(), reader.Issues);
    }

    private static string Box(long id, long imageId, int categoryId, string bbox) =>
        $$"""{"id": {{id}}, "image_id": {{imageId}}, "category_id": {{categoryId}}, "bbox": {{bbox}}, "area": 1.0, "iscrowd": 0}""";

    [Fact]
    public void A_label_naming_a_missing_image_is_counted_and_skipped()
    {
        var (images, issues) = ReadTrain(TwoImages, """
            [{"id": 11, "image_id": 1, "category_id": 0}, {"id": 12, "image_id": 3, "category_id": 1}]
            """);

        Assert.Equal(new[] { 0, -1 }, images.Select(i => i.CategoryId));
        Assert.Equal(1, issues.Count(CorpusIssueKind.LabelForMissingImage));
        CorpusIssue sample = Assert.Single(issues.Samples, s => s.Kind == CorpusIssueKind.LabelForMissingImage);
        Assert.Contains("train2017.json", sample.Message);
        Assert.Contains("annotation 12", sample.Message);
        Assert.Contains("image 3", sample.Message);
    }

    [Fact]
    public void A_label_naming_a_missing_category_is_counted_and_skipped()
    {
        var (images, issues) = ReadTrain(TwoImages, """
            [{"id": 11, "image_id": 1, "category_id": 0}, {"id": 12, "image_id": 2, "category_id": 77}]
            """);

        Assert.Equal(new[] { 0, -1 }, images.Select(i => i.CategoryId));
        Assert.Equal(1, issues.Count(CorpusIssueKind.LabelForMissingCategory));
        Assert.Contains("category 77", issues.Samples[0].Message);
    }

    [Fact]
    public void A_second_label_for_one_image_is_counted_and_the_first_wins()
    {
        var (images, issues) = ReadTrain(TwoImages, """
            [{"id": 11, "image_id": 1, "category_id": 0}, {"id": 12, "image_id": 2, "category_id": 1},
             {"id": 13, "image_id": 1, "category_id": 1}]
            """);

        Assert.Equal(new[] { 0, 1 }, images.Select(i => i.CategoryId));
        Assert.Equal(1, issues.Count(CorpusIssueKind.ExtraLabel));
    }

    [Fact]
    public void A_duplicate_image_id_keeps_the_first_image_and_counts_the_later()
    {
        var (images, issues) = ReadTrain("""
            [{"id": 1, "width": 100, "height": 50, "file_name": "a.jpg"},
             {"id": 2, "width": 40, "height": 80, "file_name": "b.jpg"},
             {"id": 1, "width": 7, "height": 7, "file_name": "dup.jpg"}]
            """, TwoLabels);

        Assert.Equal(["a.jpg", "b.jpg"], images.Select(i => i.FileName));
        Assert.Equal(1, issues.Count(CorpusIssueKind.DuplicateImageId));
    }

    [Fact]
    public void A_duplicate_label_annotation_id_is_counted_and_the_later_skipped()
    {
        var (images, issues) = ReadTrain(TwoImages, """
            [{"id": 11, "image_id": 1, "category_id": 0}, {"id": 11, "image_id": 2, "category_id": 1}]
            """);

        Assert.Equal(new[] { 0, -1 }, images.Select(i => i.CategoryId));
        Assert.Equal(1, issues.Count(CorpusIssueKind.DuplicateAnnotationId));
    }

    [Fact]
    public void A_duplicate_box_id_is_counted_and_the_later_skipped()
    {
        var (images, issues) = ReadTrain(TwoImages, TwoLabels,
            "[" + Box(5, 1, 0, "[1, 1, 10, 10]") + "," + Box(5, 2, 1, "[2, 2, 5, 5]") + "]");

        Assert.Equal(new[] { 1, 0 }, images.Select(i => i.Boxes.Length));
        Assert.Equal(1, issues.Count(CorpusIssueKind.DuplicateAnnotationId));
    }

    [Fact]
    public void A_box_naming_a_missing_image_is_counted_and_skipped()
    {
        var (images, issues) = ReadTrain(TwoImages, TwoLabels,
            "[" + Box(5, 1, 0, "[1, 1, 10, 10]") + "," + Box(6, 9, 1, "[2, 2, 5, 5]") + "]");

        Assert.Equal(1, images.Sum(i => i.Boxes.Length));
        Assert.Equal(1, issues.Count(CorpusIssueKind.BoxForMissingImage));
    }

    [Fact]
    public void A_box_naming_a_missing_category_is_counted_and_skipped()
    {
        var (images, issues) = ReadTrain(TwoImages, TwoLabels, "[" + Box(5, 1, 42, "[1, 1, 10, 10]") + "]");

        Assert.Empty(images[0].Boxes);
        Assert.Equal(1, issues.Count(CorpusIssueKind.BoxForMissingCategory));
    }

    [Theory]
    [InlineData("[101, 0, 10, 10]")]      // starts past the right edge (image is 100x50)
    [InlineData("[95, 0, 10, 10]")]       // reaches 4 px past the right edge
    [InlineData("[0, 45, 10, 10]")]       // reaches past the bottom edge
    [InlineData("[-5, 0, 10, 10]")]       // starts left of the image
    [InlineData("[0, -3, 10, 10]")]       // starts above the image
    public void A_box_outside_its_image_is_counted_and_skipped(string bbox)
    {
        var (images, issues) = ReadTrain(TwoImages, TwoLabels, "[" + Box(5, 1, 0, bbox) + "]");

        Assert.Empty(images[0].Boxes);
        Assert.Equal(1, issues.Count(CorpusIssueKind.BoxOutsideImage));
        Assert.Contains("100x50", issues.Samples[0].Message);
    }

    [Fact]
    public void A_box_within_the_edge_tolerance_is_kept_unchanged()
    {
        var (images, issues) = ReadTrain(TwoImages, TwoLabels,
            "[" + Box(5, 1, 0, "[0, 0, 100, 50]") + "," + Box(6, 1, 0, "[-0.5, 0.5, 100.5, 50.4]") + "]");

        Assert.Equal(new[] { new BoxAnnotation(5, 0, 0, 100, 50), new BoxAnnotation(6, -0.5, 0.5, 100.5, 50.4) }, images[0].Boxes);
        Assert.Equal(0, issues.Total);
    }

    [Fact]
    public void With_zero_tolerance_a_box_half_a_pixel_past_the_edge_is_outside()
    {
        var (images, issues) = ReadTrain(TwoImages, TwoLabels, "[" + Box(5, 1, 0, "[0, 0, 100.5, 50]") + "]",
            new CorpusReaderOptions { BoxEdgeTolerancePixels = 0 });

        Assert.Empty(images[0].Boxes);
        Assert.Equal(1, issues.Count(CorpusIssueKind.BoxOutsideImage));
    }

    [Theory]
    [InlineData("[1, 1, 0, 10]")]
    [InlineData("[1, 1, 10, 0]")]
    [InlineData("[1, 1, -4, 10]")]
    [InlineData("[1, 1, 10, -0.5]")]
    public void A_box_of_zero_or_negative_size_is_counted_and_skipped(string bbox)
    {
        var (images, issues) = ReadTrain(TwoImages, TwoLabels, "[" + Box(5, 1, 0, bbox) + "]");

        Assert.Empty(images[0].Boxes);
        Assert.Equal(1, issues.Count(CorpusIssueKind.NonPositiveBoxSize));
    }

    [Fact]
    public void A_box_whose_category_differs_from_the_label_is_kept_and_counted()
    {
        var (images, issues) = ReadTrain(TwoImages, TwoLabels, "[" + Box(5, 1, 1, "[1, 1, 10, 10]") + "]");

        Assert.Single(images[0].Boxes);
        Assert.Equal(1, issues.Count(CorpusIssueKind.BoxCategoryDiffersFromLabel));
        Assert.Equal(0, issues.Skipped);
    }

    [Theory]
    [InlineData(0, 50)]
    [InlineData(100, 0)]
    [InlineData(-100, 50)]
    [InlineData(100, -1)]
    public void An_image_of_zero_or_negative_size_is_counted_and_skipped_with_its_label_and_boxes(int width, int height)
    {
        var (images, issues) = ReadTrain($$"""
            [{"id": 1, "width": {{width}}, "height": {{height}}, "file_name": "a.jpg"},
             {"id": 2, "width": 40, "height": 80, "file_name": "b.jpg"}]
            """, TwoLabels, "[" + Box(5, 1, 0, "[1, 1, 1, 1]") + "]");

        Assert.Equal(2, Assert.Single(images).Id);
        Assert.Equal(1, issues.Count(CorpusIssueKind.NonPositiveImageSize));
        Assert.Equal(1, issues.Total);
    }

    [Theory]
    [InlineData("../outside.jpg")]
    [InlineData("train_val_images/../../outside.jpg")]
    [InlineData("train_val_images/Aves/..")]
    [InlineData("/etc/passwd")]
    [InlineData(@"\\server\share\x.jpg")]
    [InlineData(@"train_val_images\..\..\x.jpg")]
    [InlineData("C:/Windows/x.jpg")]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("train_val_images/Aves/")]
    public void An_image_whose_file_name_leaves_the_root_is_counted_and_skipped(string fileName)
    {
        var (images, issues) = ReadTrain($$"""
            [{"id": 1, "width": 100, "height": 50, "file_name": {{JsonSerializer.Serialize(fileName)}}},
             {"id": 2, "width": 40, "height": 80, "file_name": "b.jpg"}]
            """, TwoLabels);

        Assert.Equal("b.jpg", Assert.Single(images).FileName);
        Assert.Equal(1, issues.Count(CorpusIssueKind.UnsafeFileName));
        Assert.Equal(1, issues.Total);
    }

    [Theory]
    [InlineData("a..b.jpg")]
    [InlineData("..hidden/x.jpg")]
    [InlineData("./train/x.jpg")]
    [InlineData("train/1234/x.jpg")]
    public void File_names_that_only_look_odd_are_kept(string fileName)
    {
        var (images, issues) = ReadTrain($$"""[{"id": 1, "width": 100, "height": 50, "file_name": {{JsonSerializer.Serialize(fileName)}}}]""",
            """[{"id": 11, "image_id": 1, "category_id": 0}]""");

        Assert.Equal(fileName, Assert.Single(images).FileName);
        Assert.Equal(0, issues.Total);
    }

    [Fact]
    public void Samples_are_bounded_per_kind_while_counts_stay_complete()
    {
        string labels = "[" + string.Join(",", Enumerable.Range(100, 50).Select(i =>
            $$"""{"id": {{i}}, "image_id": {{i + 1000}}, "category_id": 0}""")) + "]";

        var (_, issues) = ReadTrain(TwoImages, labels, options: new CorpusReaderOptions { MaxIssueSamplesPerKind = 3 });

        Assert.Equal(50, issues.Count(CorpusIssueKind.LabelForMissingImage));
        Assert.Equal(3, issues.Samples.Count(s => s.Kind == CorpusIssueKind.LabelForMissingImage));
        Assert.Contains("annotation 100", issues.Samples[0].Message);
    }

    [Fact]
    public void Issue_codes_are_distinct_snake_case()
    {
        string[] codes = CorpusIssues.Kinds.Select(CorpusIssues.Code).ToArray();

        Assert.Equal(codes.Length, codes.Distinct().Count());
        Assert.All(codes, c => Assert.Matches("^[a-z]+(_[a-z]+)*$", c));
    }
}
