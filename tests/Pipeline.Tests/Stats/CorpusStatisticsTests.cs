using Pipeline.Corpus;
using Pipeline.Analysis.Stats;
using Pipeline.Tests.Corpus;

namespace Pipeline.Tests.Stats;

/// <summary>
/// Statistics of a handwritten corpus whose figures are worked out by hand in the comments:
/// train per class: Aloe 4, Salix 1, Turdus 2, Bubo 1, Amanita 0, plus one unlabelled train image;
/// val: Aloe, Turdus, Amanita; test: 2 images. Box sizes: Aves 0.5, 0.05, 0.1, 0.3 (train), 0.2 (val);
/// Plantae 0.2 (val); the unlabelled train image 1.0.
/// </summary>
public sealed class CorpusStatisticsTests : IDisposable
{
    private const string Categories = """
        [{"id": 0, "name": "Aloe × spinosissima", "supercategory": "Plantae"},
         {"id": 1, "name": "Salix alba", "supercategory": "Plantae"},
         {"id": 2, "name": "Turdus migratorius", "supercategory": "Aves"},
         {"id": 3, "name": "Bubo bubo", "supercategory": "Aves"},
         {"id": 4, "name": "Amanita muscaria", "supercategory": "Fungi"}]
        """;

    private const string TrainImages = """
        [{"id": 1, "width": 100, "height": 100, "file_name": "train_val_images/Plantae/Aloe × spinosissima/1.jpg"},
         {"id": 2, "width": 100, "height": 100, "file_name": "train_val_images/Plantae/Aloe × spinosissima/2.jpg"},
         {"id": 3, "width": 100, "height": 100, "file_name": "train_val_images/Plantae/Aloe × spinosissima/3.jpg"},
         {"id": 4, "width": 100, "height": 100, "file_name": "train_val_images/Plantae/Aloe × spinosissima/4.jpg"},
         {"id": 5, "width": 100, "height": 100, "file_name": "train_val_images/Plantae/Salix alba/5.jpg"},
         {"id": 6, "width": 100, "height": 100, "file_name": "train_val_images/Aves/Turdus migratorius/6.jpg"},
         {"id": 7, "width": 200, "height": 50, "file_name": "train_val_images/Aves/Turdus migratorius/7.jpg"},
         {"id": 8, "width": 100, "height": 100, "file_name": "train_val_images/Aves/Bubo bubo/8.jpg"},
         {"id": 9, "width": 100, "height": 100, "file_name": "train_val_images/Aves/unknown/9.jpg"}]
        """;

    private const string TrainLabels = """
        [{"id": 101, "image_id": 1, "category_id": 0}, {"id": 102, "image_id": 2, "category_id": 0},
         {"id": 103, "image_id": 3, "category_id": 0}, {"id": 104, "image_id": 4, "category_id": 0},
         {"id": 105, "image_id": 5, "category_id": 1}, {"id": 106, "image_id": 6, "category_id": 2},
         {"id": 107, "image_id": 7, "category_id": 2}, {"id": 108, "image_id": 8, "category_id": 3}]
        """;

    private const string TrainBoxes = """
        [{"id": 106, "image_id": 6, "category_id": 2, "bbox": [0, 0, 50, 50], "area": 1250.0, "iscrowd": 0},
         {"id": 206, "image_id": 6, "category_id": 2, "bbox": [10, 10, 5, 5], "area": 12.5, "iscrowd": 0},
         {"id": 107, "image_id": 7, "category_id": 2, "bbox": [0, 0, 20, 5], "area": 50.0, "iscrowd": 0},
         {"id": 108, "image_id": 8, "category_id": 3, "bbox": [0, 0, 30, 30], "area": 450.0, "iscrowd": 0},
         {"id": 109, "image_id": 9, "category_id": 3, "bbox": [0, 0, 100, 100], "area": 5000.0, "iscrowd": 0}]
        """;

    private const string ValImages = """
        [{"id": 20, "width": 100, "height": 100, "file_name": "train_val_images/Plantae/Aloe × spinosissima/20.jpg"},
         {"id": 21, "width": 100, "height": 100, "file_name": "train_val_images/Aves/Turdus migratorius/21.jpg"},
         {"id": 22, "width": 100, "height": 100, "file_name": "train_val_images/Fungi/Amanita muscaria/22.jpg"}]
        """;

    private const string ValLabels = """
        [{"id": 201, "image_id": 20, "category_id": 0}, {"id": 202, "image_id": 21, "category_id": 2},
         {"id": 203, "image_id": 22, "category_id": 4}]
        """;

    private const string ValBoxes = """
        [{"id": 301, "image_id": 21, "category_id": 2, "bbox": [0, 0, 20, 20], "area": 200.0, "iscrowd": 0},
         {"id": 302, "image_id": 20, "category_id": 0, "bbox": [5, 5, 10, 40], "area": 200.0, "iscrowd": 0}]
        """;

    private const string TestImages = """
        [{"id": 40, "width": 10, "height": 10, "file_name": "test2017/40.jpg"},
         {"id": 41, "width": 10, "height": 10, "file_name": "test2017/41.jpg"}]
        """;

    private readonly TempCorpus _corpus = new TempCorpus()
        .Write(CorpusReader.TrainFileName, TempCorpus.File(TrainImages, TrainLabels, Categories))
        .Write(CorpusReader.TrainBoxesFileName, TempCorpus.File(TrainImages, TrainBoxes, Categories))
        .Write(CorpusReader.ValFileName, TempCorpus.File(ValImages, ValLabels, Categories))
        .Write(CorpusReader.ValBoxesFileName, TempCorpus.File(ValImages, ValBoxes, Categories))
        .Write(CorpusReader.TestFileName, TempCorpus.File(TestImages, annotations: null, Categories));

    public void Dispose() => _corpus.Dispose();

    private StatsReport Compute() => CorpusStatistics.Compute(_corpus.Reader());

    [Fact]
    public void Image_and_box_totals_count_every_yielded_image_and_box()
    {
        Assert.Equal(new ImageTotals(TrainImages: 9, ValImages: 3, TestImages: 2, UnlabelledTrainImages: 1,
            UnlabelledValImages: 0, TrainBoxes: 5, ValBoxes: 2), Compute().Images);
    }

    [Fact]
    public void Imbalance_is_largest_over_smallest_training_class_with_ties_to_the_lowest_id()
    {
        ImbalanceFigures imbalance = Compute().Imbalance;

        // Aloe 4 / (Salix 1 and Bubo 1 tie; Salix has the lower id) = 4.00; Amanita has no train image.
        Assert.Equal(4, imbalance.ClassesWithTrainImages);
        Assert.Equal(new ClassCount(0, "Aloe × spinosissima", "Plantae", 4), imbalance.LargestClass);
        Assert.Equal(new ClassCount(1, "Salix alba", "Plantae", 1), imbalance.SmallestClass);
        Assert.Equal(4.0, imbalance.Imbalance);
    }

    [Fact]
    public void Table2_rows_count_classes_images_and_boxes_per_super_class_in_the_papers_order()
    {
        StatsReport report = Compute();

        // Ordered by classes (2, 2, 1), then train images (Plantae 5 before Aves 3).
        Assert.Equal(new[]
        {
            new SuperclassRow("Plantae", 2, 5, 1, 0, 1, 1),
            new SuperclassRow("Aves", 2, 3, 1, 4, 1, 5),
            new SuperclassRow("Fungi", 1, 0, 1, 0, 0, 0),
        }, report.Superclasses);
        Assert.Equal(new SuperclassRow("Total", 5, 8, 3, 4, 2, 6), report.Total);
    }

    [Fact]
    public void Top_one_percent_share_takes_the_ceiling_of_one_percent_of_classes()
    {
        ClassDistribution distribution = Compute().TrainImagesPerClass;

        // ceil(4 classes / 100) = 1 class: Aloe's 4 of the 8 labelled training images.
        Assert.Equal((4, 1, 1, 4L, 0.5), (distribution.Classes, distribution.ClassesWithoutTrainImages,
            distribution.TopOnePercentClasses, distribution.TopOnePercentTrainImages, distribution.TopOnePercentShare));
    }

    [Fact]
    public void Images_per_class_quantiles_interpolate_linearly()
    {
        // Sorted counts 1, 1, 2, 4: p50 at 1.5 -> 1.5; p75 at 2.25 -> 2.5; p90 at 2.7 -> 3.4; p99 at 2.97 -> 3.94.
        Assert.Equal(new Quantiles(1, 1, 1, 1.5, 2.5, 3.4, 3.94, 4), Compute().TrainImagesPerClass.Quantiles);
    }

    [Fact]
    public void Relative_box_sizes_per_super_class_have_quantiles_and_size_shares()
    {
        BoxSizeSummary aves = Assert.Single(Compute().BoxSizes, r => r.Supercategory == "Aves");

        // 0.05, 0.1, 0.2, 0.3, 0.5: p10 at 0.4 -> 0.07; p90 at 3.6 -> 0.42; p99 at 3.96 -> 0.492.
        Assert.Equal(5, aves.Boxes);
        Assert.Equal(new Quantiles(0.05, 0.07, 0.1, 0.2, 0.3, 0.42, 0.492, 0.5), aves.Quantiles);
        // small: 0.05; medium: 0.1 (the bound is medium), 0.2; large: 0.3 (the bound is large), 0.5.
        Assert.Equal((0.2, 0.4, 0.4), (aves.SmallShare, aves.MediumShare, aves.LargeShare));
    }

    [Fact]
    public void Box_size_histogram_has_twenty_bins_of_width_one_twentieth()
    {
        BoxSizeSummary aves = Assert.Single(Compute().BoxSizes, r => r.Supercategory == "Aves");

        Assert.Equal(20, aves.Histogram.Count);
        Assert.Equal(new HistogramBin(0.05, 0.1, 1), aves.Histogram[1]);
        long[] expected = new long[20];
        expected[1] = expected[2] = expected[4] = expected[6] = expected[10] = 1;
        Assert.Equal(expected, aves.Histogram.Select(b => b.Count));
    }

    [Fact]
    public void The_all_row_holds_every_box_including_those_of_unlabelled_images()
    {
        IReadOnlyList<BoxSizeSummary> rows = Compute().BoxSizes;
        BoxSizeSummary all = rows[^1];

        // 0.05, 0.1, 0.2, 0.2, 0.3, 0.5, 1.0: the unlabelled image's whole-image box lands in the last bin.
        Assert.Equal(["Plantae", "Aves", "Fungi", CorpusStatistics.AllSupercategories], rows.Select(r => r.Supercategory));
        Assert.Equal(7, all.Boxes);
        Assert.Equal((0.05, 0.2, 1.0), (all.Quantiles!.Min, all.Quantiles.P50, all.Quantiles.Max));
        Assert.Equal((0.142857, 0.428571, 0.428571), (all.SmallShare, all.MediumShare, all.LargeShare));
        Assert.Equal(1, all.Histogram[^1].Count);
    }

    [Fact]
    public void A_super_class_without_boxes_has_no_quantiles_and_zero_shares()
    {
        BoxSizeSummary fungi = Assert.Single(Compute().BoxSizes, r => r.Supercategory == "Fungi");

        Assert.Equal((0L, (Quantiles?)null, 0.0, 0.0, 0.0),
            (fungi.Boxes, fungi.Quantiles, fungi.SmallShare, fungi.MediumShare, fungi.LargeShare));
    }

    [Fact]
    public void The_reader_issues_appear_in_the_report_with_every_kind_listed()
    {
        IssueSummary issues = Compute().Issues;

        Assert.Equal((1L, 0L), (issues.Total, issues.Skipped));
        Assert.Equal(CorpusIssues.Kinds.Count, issues.Counts.Count);
        Assert.Equal(new IssueCount("image_without_label", 1, false), Assert.Single(issues.Counts, c => c.Count > 0));
        Assert.Contains("image 9", Assert.Single(issues.Samples).Message);
    }

    [Fact]
    public void Skipped_elements_are_counted_in_the_report_and_left_out_of_the_figures()
    {
        _corpus.Write(CorpusReader.ValBoxesFileName, TempCorpus.File(ValImages, """
            [{"id": 301, "image_id": 21, "category_id": 2, "bbox": [0, 0, 20, 20]},
             {"id": 302, "image_id": 20, "category_id": 0, "bbox": [95, 5, 10, 40]}]
            """, Categories));

        StatsReport report = Compute();

        Assert.Equal(1, Assert.Single(report.Issues.Counts, c => c.Code == "box_outside_image").Count);
        Assert.Equal(1L, report.Issues.Skipped);
        Assert.Equal(0, report.Superclasses[0].Boxes);
        Assert.Equal(1, report.Images.ValBoxes);
    }

    [Fact]
    public void A_corpus_without_training_images_has_no_imbalance()
    {
        using var corpus = new TempCorpus().Write(CorpusReader.ValFileName, TempCorpus.File(ValImages, ValLabels, Categories));

        StatsReport report = CorpusStatistics.Compute(corpus.Reader());

        Assert.Equal(new ImbalanceFigures(0, null, null, null), report.Imbalance);
        Assert.Equal((0, 5, 0, 0.0), (report.TrainImagesPerClass.Classes, report.TrainImagesPerClass.ClassesWithoutTrainImages,
            report.TrainImagesPerClass.TopOnePercentClasses, report.TrainImagesPerClass.TopOnePercentShare));
        Assert.Null(report.TrainImagesPerClass.Quantiles);
    }

    [Theory]
    [InlineData(new[] { 3.0 }, 0.5, 3.0)]
    [InlineData(new[] { 1.0, 2.0 }, 0.5, 1.5)]
    [InlineData(new[] { 1.0, 2.0, 3.0, 4.0, 5.0 }, 0.25, 2.0)]
    [InlineData(new[] { 1.0, 2.0, 3.0, 4.0, 5.0 }, 0.9, 4.6)]
    [InlineData(new[] { 10.0, 20.0 }, 1.0, 20.0)]
    [InlineData(new[] { 10.0, 20.0 }, 0.0, 10.0)]
    public void Quantile_matches_numpys_default_linear_interpolation(double[] sorted, double level, double expected)
    {
        Assert.Equal(expected, CorpusStatistics.Quantile(sorted, level), 12);
    }
}
