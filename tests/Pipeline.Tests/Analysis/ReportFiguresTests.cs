using Pipeline.Analysis;
using Pipeline.Storage;
using SkiaSharp;

namespace Pipeline.Tests.Analysis;

/// <summary>The report's Table 1, Table 2 and Figure 2 as a reader sees them, on hand-made class counts.</summary>
public sealed class ReportFiguresTests
{
    // train per species as in CorpusStatisticsTests: Aloe 4, Salix 1, Turdus 2, Bubo 1 (Salix and Bubo tie)
    private static readonly ClassCountRow[] Counts =
    [
        new(0, "Aloe × spinosissima", "Plantae", "train", 4, 0),
        new(1, "Salix alba", "Plantae", "train", 1, 0),
        new(2, "Turdus migratorius", "Aves", "train", 2, 3),
        new(3, "Bubo bubo", "Aves", "train", 1, 2),
    ];

    [Fact]
    public void Smallest_species_on_a_tie_is_the_lowest_category_id_as_pipeline_stats_names_it()
    {
        TrainDistribution train = DatasetSummaryBuilder.TrainImagesPerSpecies(Counts);
        // the same species CorpusStatisticsTests expects from `pipeline stats` for these counts
        Assert.Equal(1, train.Smallest!.CategoryId);
        Assert.Equal(0, train.Largest!.CategoryId);
        // and whatever order the rows come in
        TrainDistribution reversed = DatasetSummaryBuilder.TrainImagesPerSpecies(Counts.Reverse().ToArray());
        Assert.Equal(1, reversed.Smallest!.CategoryId);
    }

    [Fact]
    public void Figure2_draws_a_visible_bar_for_a_species_with_one_training_image()
    {
        // one species with one image: on a log axis from 1 its bar would have no height at all
        TrainDistribution train = DatasetSummaryBuilder.TrainImagesPerSpecies([new(7, "Solo species", "Fungi", "train", 1, 0)]);
        ReportChart chart = ReportCharts.Figure2(train);
        using SKBitmap png = SKBitmap.Decode(chart.Png);
        var bar = new SKColor(0x1f, 0x77, 0xb4); // the bars' colour (ScottPlot's Category10 C0)
        int barPixels = 0;
        for (int y = 0; y < png.Height; y++)
        for (int x = 0; x < png.Width; x++)
            if (png.GetPixel(x, y) == bar) barPixels++;
        // the legend's swatch alone is a few hundred pixels; a bar across the plot is tens of thousands
        Assert.True(barPixels > 5000, $"only {barPixels} pixels of the bar colour: the single-image species is not drawn");
    }

    [Fact]
    public void Table2_shows_the_paper_s_counts_scaled_to_the_run_beside_ours()
    {
        (List<SuperclassCounts> rows, SuperclassCounts total) = DatasetSummaryBuilder.Table2(Counts);
        var summary = new DatasetSummary("/d", true, null, rows, total, DatasetSummaryBuilder.TrainImagesPerSpecies(Counts),
            [], new DecodeSizes(0, 0, 0, 0, 0, 0, 0, 0, 0, [], null), new QuarantineSummary(0, [], []), null, null);
        double scale = summary.PaperScale!.Value;
        Assert.Equal(8.0 / 675_170, scale, 12);
        string html = HtmlReport.Render(summary, []);
        Assert.Contains("data-figure=\"table2.Aves.paper_scaled_train\"", html);
        SuperclassCounts aves = rows.Single(r => r.Supercategory == "Aves");
        string expected = (aves.Paper!.TrainImages * scale).ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains($"data-figure=\"table2.Aves.paper_scaled_train\" data-value=\"{expected}\"", html);
    }
}
