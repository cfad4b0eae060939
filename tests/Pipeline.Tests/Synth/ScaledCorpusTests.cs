using Pipeline.Synth;

namespace Pipeline.Tests.Synth;

public sealed class ScaledCorpusTests
{
    [Theory]
    [InlineData(0.01)]
    [InlineData(0.001)]
    [InlineData(0.0002)]
    public void Counts_per_super_class_equal_table2_scaled(double scale)
    {
        using var directory = new TempDirectory();
        CorpusGenerator.Generate(new SynthOptions(directory.Path, scale, WriteImages: false));
        var counts = CorpusJson.Read(directory.Path).CountsBySuperClass();

        Assert.Equal(13, counts.Count);
        foreach (var row in CorpusJson.Table2)
        {
            int classes = Math.Max(1, (int)Math.Round(row.Classes * scale, MidpointRounding.AwayFromZero));
            int train = Math.Max(classes, (int)Math.Round(row.Train * scale, MidpointRounding.AwayFromZero));
            int val = Math.Max(classes, (int)Math.Round(row.Val * scale, MidpointRounding.AwayFromZero));
            int boxes = (int)Math.Round(row.Boxes * scale, MidpointRounding.AwayFromZero);
            Assert.Equal((row.Name, classes, train, val, boxes), (row.Name, counts[row.Name].Classes, counts[row.Name].Train, counts[row.Name].Val, counts[row.Name].Boxes));
        }
    }

    [Fact]
    public void Smaller_scale_keeps_a_long_tail_within_each_large_super_class()
    {
        CorpusPlan plan = CorpusPlanner.Plan(new SynthOptions("unused", 0.02, WriteImages: false));
        foreach (string superClass in new[] { "Plantae", "Insecta", "Aves", "Reptilia" })
        {
            int[] train = plan.Classes.Where(c => c.Species.Supercategory == superClass).Select(c => c.TrainImages).ToArray();
            Assert.True(train.Length >= 5, $"{superClass}: {train.Length} classes");
            Assert.True(train.Max() >= 8 * train.Min(), $"{superClass}: largest {train.Max()}, smallest {train.Min()}");
        }
    }

    [Fact]
    public void Every_class_has_at_least_one_train_and_one_val_image_at_tiny_scale()
    {
        CorpusPlan plan = CorpusPlanner.Plan(new SynthOptions("unused", 0.0001, WriteImages: false));
        Assert.Equal(13, plan.Classes.Select(c => c.Species.Supercategory).Distinct().Count());
        Assert.All(plan.Classes, c => Assert.True(c.TrainImages >= 1 && c.ValImages >= 1, $"{c.Species.Name}: {c.TrainImages}/{c.ValImages}"));
    }

    [Fact]
    public void Demo_corpus_has_all_13_super_classes_and_a_few_hundred_images()
    {
        CorpusPlan plan = CorpusPlanner.Plan(SynthOptions.Demo("unused"));
        Assert.Equal(13, plan.Classes.Select(c => c.Species.Supercategory).Distinct().Count());
        Assert.All(plan.Classes, c => Assert.True(c.TrainImages >= 8, $"{c.Species.Name}: {c.TrainImages} train images"));
        Assert.InRange(plan.Images.Length, 200, 800);
    }

    [Fact]
    public void Frames_keep_the_longest_side_at_most_max_side_and_are_mostly_four_to_three()
    {
        CorpusPlan plan = CorpusPlanner.Plan(new SynthOptions("unused", 0.01, MaxSide: 640, WriteImages: false));
        int atMax = 0, fourThree = 0;
        foreach (PlannedImage image in plan.Images)
        {
            int longSide = Math.Max(image.Width, image.Height), shortSide = Math.Min(image.Width, image.Height);
            Assert.InRange(longSide, 320, 640);
            Assert.InRange(shortSide, 1, longSide);
            if (longSide == 640) atMax++;
            if (Math.Abs((double)shortSide / longSide - 0.75) < 0.01) fourThree++;
        }

        Assert.True(atMax > 0.8 * plan.Images.Length, $"{atMax} of {plan.Images.Length} at the maximum side");
        Assert.True(fourThree > 0.5 * plan.Images.Length, $"{fourThree} of {plan.Images.Length} are 4:3 or 3:4");
        Assert.Contains(plan.Images, i => i.Width == i.Height);
        Assert.Contains(plan.Images, i => Math.Abs((double)Math.Min(i.Width, i.Height) / Math.Max(i.Width, i.Height) - 9.0 / 16) < 0.01);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-0.5)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void Scale_outside_zero_to_one_is_refused_before_anything_is_written(double scale)
    {
        using var directory = new TempDirectory();
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => CorpusGenerator.Generate(new SynthOptions(directory.Path, scale)));
        Assert.Equal("Scale", error.ParamName);
        Assert.False(Directory.Exists(directory.Path));
    }

    [Theory]
    [InlineData(8)]
    [InlineData(100_000)]
    public void Max_side_outside_the_supported_range_is_refused(int maxSide)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new SynthOptions("unused", MaxSide: maxSide).Validate());
        Assert.Equal("MaxSide", error.ParamName);
    }

    [Fact]
    public void Cancelled_generation_stops_with_operation_cancelled()
    {
        using var directory = new TempDirectory();
        using var cancellation = new CancellationTokenSource();
        cancellation.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() =>
            CorpusGenerator.Generate(new SynthOptions(directory.Path, 0.001), cancellation: cancellation.Token));
    }
}
