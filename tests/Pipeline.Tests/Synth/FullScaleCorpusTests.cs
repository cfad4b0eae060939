using System.Globalization;
using Pipeline.Synth;

namespace Pipeline.Tests.Synth;

/// <summary>The annotation-only corpus at scale 1 (675,170 train+val images), generated once for the tests below.</summary>
public sealed class FullScaleCorpusFixture : IDisposable
{
    private readonly TempDirectory _directory = new();

    public FullScaleCorpusFixture()
    {
        Summary = CorpusGenerator.Generate(new SynthOptions(_directory.Path, Scale: 1, WriteImages: false));
        Json = CorpusJson.Read(_directory.Path);
    }

    public SynthSummary Summary { get; }
    public CorpusJson Json { get; }

    public void Dispose() => _directory.Dispose();
}

public sealed class FullScaleCorpusTests(FullScaleCorpusFixture corpus) : IClassFixture<FullScaleCorpusFixture>
{
    [Fact]
    public void Classes_train_val_and_boxes_of_every_super_class_equal_table2()
    {
        var counts = corpus.Json.CountsBySuperClass();
        Assert.Equal(13, counts.Count);
        foreach (var row in CorpusJson.Table2)
            Assert.Equal((row.Classes, row.Train, row.Val, row.Boxes), counts[row.Name]);
    }

    [Fact]
    public void Totals_equal_the_release()
    {
        Assert.Equal(579_184, corpus.Json.Train.Images.Count);
        Assert.Equal(95_986, corpus.Json.Val.Images.Count);
        Assert.Equal(90_427, corpus.Json.Test.Images.Count);
        Assert.Equal(5_089, corpus.Json.Train.Categories.Count);
        Assert.Equal(561_767, corpus.Json.TrainBoxes.Boxes.Count + corpus.Json.ValBoxes.Boxes.Count);
        Assert.Equal((579_184, 95_986, 90_427, 561_767, 5_089),
            (corpus.Summary.TrainImages, corpus.Summary.ValImages, corpus.Summary.TestImages, corpus.Summary.Boxes, corpus.Summary.Classes));
    }

    [Fact]
    public void Imbalance_of_train_classes_prints_as_435_44()
    {
        Dictionary<int, int> perClass = corpus.Json.TrainImagesPerClass();
        int largest = perClass.Values.Max(), smallest = perClass.Values.Min();
        Assert.Equal((3919, 9), (largest, smallest));
        Assert.Equal("435.44", ((double)largest / smallest).ToString("F2", CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Top_one_percent_of_classes_hold_over_16_percent_of_train_images()
    {
        int[] sorted = corpus.Json.TrainImagesPerClass().Values.OrderDescending().ToArray();
        int top = (int)Math.Round(sorted.Length * 0.01);
        double share = (double)sorted.Take(top).Sum() / sorted.Sum();
        Assert.Equal(51, top);
        Assert.InRange(share, 0.16, 0.25);
    }

    [Fact]
    public void Every_class_has_train_and_val_images()
    {
        var valPerClass = new Dictionary<int, int>();
        foreach (int categoryId in corpus.Json.Val.Labels.Values) valPerClass[categoryId] = valPerClass.GetValueOrDefault(categoryId) + 1;
        Assert.Equal(5_089, corpus.Json.TrainImagesPerClass().Count);
        Assert.Equal(5_089, valPerClass.Count);
    }

    [Fact]
    public void Image_ids_are_unique_across_train_val_and_test()
    {
        var ids = new HashSet<long>();
        foreach (var file in new[] { corpus.Json.Train, corpus.Json.Val, corpus.Json.Test })
        {
            foreach (JsonImage image in file.Images) Assert.True(ids.Add(image.Id), $"image id {image.Id} repeats");
        }

        Assert.Equal(675_170 + 90_427, ids.Count);
    }

    [Fact]
    public void Relative_box_sizes_are_mostly_small_and_medium_and_birds_smallest()
    {
        var sizes = new Dictionary<string, List<double>>();
        int belowHalf = 0, all = 0;
        foreach (var (images, boxes) in new[] { (corpus.Json.TrainBoxes, corpus.Json.TrainBoxes.Boxes), (corpus.Json.ValBoxes, corpus.Json.ValBoxes.Boxes) })
        {
            var frames = images.Images.ToDictionary(i => i.Id);
            foreach (JsonBox box in boxes)
            {
                JsonImage frame = frames[box.ImageId];
                double relative = Math.Sqrt(box.W * box.H) / Math.Sqrt((double)frame.Width * frame.Height);
                string superClass = images.Categories[box.CategoryId].Supercategory;
                if (!sizes.TryGetValue(superClass, out List<double>? list)) sizes[superClass] = list = [];
                list.Add(relative);
                all++;
                if (relative < 0.5) belowHalf++;
            }
        }

        var medians = sizes.ToDictionary(p => p.Key, p => Median(p.Value));
        Assert.Equal(9, medians.Count);
        foreach (double median in medians.Values) Assert.InRange(median, 0.1, 0.45);
        Assert.True(medians["Aves"] < medians["Mammalia"] && medians["Aves"] < medians["Reptilia"] && medians["Aves"] < medians["Insecta"],
            string.Join(", ", medians.Select(p => $"{p.Key} {p.Value:F3}")));
        Assert.True(belowHalf > 0.8 * all, $"{belowHalf} of {all} boxes below half the image");
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values[values.Count / 2];
    }
}
