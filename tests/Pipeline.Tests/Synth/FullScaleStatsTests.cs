using System.Globalization;
using Pipeline.Corpus;
using Pipeline.Analysis.Stats;

namespace Pipeline.Tests.Synth;

/// <summary>
/// The issue's "done when": the full-scale annotation-only corpus, read back by the corpus reader and summarised
/// by `pipeline stats`, reproduces the paper's Table 2 and the 435.44 imbalance exactly.
/// </summary>
[Trait("Category", "Slow")]
public sealed class FullScaleStatsTests(FullScaleCorpusFixture corpus) : IClassFixture<FullScaleCorpusFixture>
{
    [Fact]
    public void Stats_of_the_full_scale_corpus_reproduce_table2_and_the_imbalance()
    {
        var report = CorpusStatistics.Compute(new CorpusReader(corpus.Summary.OutDir));

        Assert.Equal("435.44", report.Imbalance.Imbalance!.Value.ToString("F2", CultureInfo.InvariantCulture));
        foreach (var paper in PaperFigures.Table2)
        {
            var ours = Assert.Single(report.Superclasses, s => s.Supercategory == paper.Supercategory);
            Assert.Equal(paper.Classes, ours.Classes);
            Assert.Equal(paper.TrainImages, ours.TrainImages);
            Assert.Equal(paper.ValImages, ours.ValImages);
            Assert.Equal(paper.Boxes ?? 0, ours.Boxes);
        }
        Assert.Equal(PaperFigures.Table2Total.Classes, report.Total.Classes);
        Assert.Equal(PaperFigures.Table2Total.TrainImages, report.Total.TrainImages);
        Assert.Equal(PaperFigures.Table2Total.ValImages, report.Total.ValImages);
        Assert.Equal((long)PaperFigures.Table2Total.Boxes!.Value, report.Total.Boxes);
        Assert.True(report.TrainImagesPerClass.TopOnePercentShare > PaperFigures.TopOnePercentShareAbove);
        Assert.Equal(0L, report.Issues.Skipped);
    }
}
