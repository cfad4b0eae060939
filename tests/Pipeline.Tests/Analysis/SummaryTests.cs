using Pipeline.Analysis;
using Pipeline.Storage;

namespace Pipeline.Tests.Analysis;

/// <summary>The report model on a small hand-made dataset: what it says when parts of the picture are missing.</summary>
public sealed class SummaryTests
{
    [Fact]
    public async Task Summary_counts_the_small_dataset_and_says_what_is_not_recorded()
    {
        using SmallDataset data = await SmallDataset.CreateAsync();

        DatasetSummary summary = await DatasetSummaryBuilder.BuildAsync(data.Dataset);

        Assert.True(summary.Complete);
        Assert.Equal(["Aves", "Plantae"], summary.Superclasses.Select(s => s.Supercategory).Order());
        SuperclassCounts aves = summary.Superclasses.Single(s => s.Supercategory == "Aves");
        Assert.Equal((3, 40L, 9L), (aves.Classes, aves.TrainImages, aves.ValImages));
        Assert.Equal(data.Rows.Where(r => r.Supercategory == "Aves").Sum(r => (long)r.Boxes.Length), aves.Boxes);
        Assert.Equal(964, aves.Paper!.Classes);
        Assert.Equal(5, summary.Total.Classes);
        Assert.Equal(70, summary.Sizes.Images);
        Assert.Equal((640, 480), (summary.Sizes.MaxWidth, summary.Sizes.MaxHeight));
        Assert.Null(summary.Sizes.SizeMismatches); // no job journal beside a hand-made dataset
        Assert.Equal(3, summary.Quarantine.Images);
        Assert.Equal(new QuarantineGroup("decode", "Truncated", 3), summary.Quarantine.Groups.Single());
        Assert.Null(summary.Probe);

        // train images per species, largest first: imbalance is largest / smallest
        long[] perSpecies = data.Rows.Where(r => r.Split == "train").GroupBy(r => r.CategoryId).Select(g => (long)g.Count())
            .OrderDescending().ToArray();
        Assert.Equal(perSpecies, summary.Train.Descending.Select(s => s.TrainImages));
        Assert.Equal(perSpecies[0] / (double)perSpecies[^1], summary.Train.Imbalance);
        Assert.Equal(1, summary.Train.TopOnePercentClasses);

        string html = HtmlReport.Render(summary, ReportCharts.Render(summary));
        Assert.Contains("not recorded (no job journal beside the dataset)", html);
        Assert.Contains("No probe results beside the dataset", html);
        Assert.Contains("pipeline probe --dataset", html);
    }

    [Fact]
    public async Task Figure_4_merges_the_splits_of_a_superclass_and_leaves_out_superclasses_without_boxes()
    {
        IReadOnlyList<HistogramBinRow> bins =
        [
            new("train", "Aves", 0.0, 0.5, 3), new("train", "Aves", 0.5, 1.0, 1),
            new("val", "Aves", 0.0, 0.5, 2), new("val", "Aves", 0.5, 1.0, 0),
            new("train", "Plantae", 0.0, 0.5, 0), new("train", "Plantae", 0.5, 1.0, 0),
        ];

        List<BoxSizeDistribution> sizes = DatasetSummaryBuilder.BoxSizes(bins);

        BoxSizeDistribution aves = Assert.Single(sizes);
        Assert.Equal("Aves", aves.Supercategory);
        Assert.Equal(6, aves.Boxes);
        Assert.Equal([5L, 1L], aves.Bins.Select(b => b.Count));
        Assert.Equal(0.3, aves.Median!.Value, 9); // 3 of 6 boxes lie below 0.3 in the first bin's 0..0.5 at 5 per 0.5
    }

    [Fact]
    public void Labels_number_species_by_category_id_and_unlabelled_test_rows_get_minus_one()
    {
        DatasetClasses classes = DatasetClasses.FromCounts(
        [
            new ClassCountRow(40, "Quercus alba", "Plantae", "train", 3, 0),
            new ClassCountRow(7, "Turdus migratorius", "Aves", "val", 1, 1),
            new ClassCountRow(40, "Quercus alba", "Plantae", "val", 2, 0),
            new ClassCountRow(-1, "", "Unknown", "test", 9, 0),
        ]);

        Assert.Equal([7, 40], classes.Classes.Select(c => c.CategoryId));
        Assert.Equal(1, classes.LabelOf(40, 123));
        Assert.Equal(-1, classes.LabelOf(-1, 124));
        Assert.Contains("category 99", Assert.Throws<InvalidDataException>(() => classes.LabelOf(99, 125)).Message);
    }

    [Fact]
    public void Size_bins_are_one_two_or_five_times_a_power_of_ten()
    {
        Assert.Equal(50, DatasetSummaryBuilder.NiceBinWidth(800));
        Assert.Equal(5, DatasetSummaryBuilder.NiceBinWidth(96));
        Assert.Equal(1, DatasetSummaryBuilder.NiceBinWidth(3));
        Assert.Equal(200, DatasetSummaryBuilder.NiceBinWidth(4000));
    }
}
