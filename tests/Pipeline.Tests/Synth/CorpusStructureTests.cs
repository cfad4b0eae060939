using System.Text;
using System.Text.RegularExpressions;
using Pipeline.Synth;

namespace Pipeline.Tests.Synth;

/// <summary>An annotation-only corpus at scale 0.01 (about 7,600 images), generated once.</summary>
public sealed class SmallCorpusFixture : IDisposable
{
    private readonly TempDirectory _directory = new();

    public SmallCorpusFixture()
    {
        CorpusGenerator.Generate(new SynthOptions(_directory.Path, 0.01, Seed: 7, WriteImages: false));
        Json = CorpusJson.Read(_directory.Path);
    }

    public CorpusJson Json { get; }

    public void Dispose() => _directory.Dispose();
}

public sealed partial class CorpusStructureTests(SmallCorpusFixture corpus) : IClassFixture<SmallCorpusFixture>
{
    private static readonly string[] BoxedSuperClasses =
        ["Insecta", "Aves", "Reptilia", "Mammalia", "Amphibia", "Mollusca", "Animalia", "Arachnida", "Actinopterygii"];

    [Fact]
    public void Category_ids_names_and_super_classes_come_from_the_species_csv()
    {
        Dictionary<int, (string Name, string Supercategory, bool Boxed)> csv = ReadSpeciesCsv();
        foreach (CorpusJsonFile file in new[] { corpus.Json.Train, corpus.Json.Val, corpus.Json.Test, corpus.Json.TrainBoxes, corpus.Json.ValBoxes })
        {
            Assert.NotEmpty(file.Categories);
            foreach ((int id, (string name, string supercategory)) in file.Categories)
                Assert.Equal((csv[id].Name, csv[id].Supercategory), (name, supercategory));
        }

        Assert.All(corpus.Json.TrainBoxes.Categories.Keys, id => Assert.True(csv[id].Boxed));
    }

    [Fact]
    public void File_names_follow_the_release_tree_of_their_species()
    {
        var names = new HashSet<string>();
        foreach (CorpusJsonFile file in new[] { corpus.Json.Train, corpus.Json.Val })
        {
            foreach (JsonImage image in file.Images)
            {
                Match match = TrainValFileName().Match(image.FileName);
                Assert.True(match.Success, image.FileName);
                (string name, string supercategory) = file.Categories[file.Labels[image.Id]];
                Assert.Equal((supercategory, name), (match.Groups["super"].Value, match.Groups["species"].Value));
                Assert.True(names.Add(image.FileName), $"{image.FileName} repeats");
            }
        }

        foreach (JsonImage image in corpus.Json.Test.Images)
        {
            Assert.Matches(TestFileName(), image.FileName);
            Assert.True(names.Add(image.FileName), $"{image.FileName} repeats");
        }
    }

    [Fact]
    public void Every_train_and_val_image_has_exactly_one_label_and_test_has_no_annotations()
    {
        foreach (CorpusJsonFile file in new[] { corpus.Json.Train, corpus.Json.Val })
        {
            Assert.Equal(file.Images.Count, file.Labels.Count);
            Assert.All(file.Images, image => Assert.True(file.Labels.ContainsKey(image.Id)));
        }

        Assert.False(corpus.Json.Test.HasAnnotations);
        Assert.NotEmpty(corpus.Json.Test.Images);
        Assert.True(corpus.Json.Train.HasInfo && corpus.Json.Test.HasInfo && corpus.Json.ValBoxes.HasInfo);
        Assert.True(corpus.Json.Train.LicenseCount > 0);
        Assert.All(corpus.Json.Train.Images, image => Assert.InRange(image.License, 1, corpus.Json.Train.LicenseCount));
        Assert.All(corpus.Json.Train.Images, image => Assert.False(string.IsNullOrEmpty(image.RightsHolder)));
    }

    [Fact]
    public void Boxes_lie_inside_their_images_with_the_2017_area_and_no_crowds()
    {
        var boxIds = new HashSet<long>();
        foreach ((CorpusJsonFile boxes, CorpusJsonFile labels) in new[] { (corpus.Json.TrainBoxes, corpus.Json.Train), (corpus.Json.ValBoxes, corpus.Json.Val) })
        {
            var frames = boxes.Images.ToDictionary(i => i.Id);
            var labelled = labels.Images.ToDictionary(i => i.Id);
            foreach (JsonBox box in boxes.Boxes)
            {
                JsonImage frame = frames[box.ImageId];
                Assert.Equal(labelled[box.ImageId], frame);
                Assert.Equal(labels.Labels[box.ImageId], box.CategoryId);
                Assert.True(box.X >= 0 && box.Y >= 0 && box.W >= 1 && box.H >= 1 && box.X + box.W <= frame.Width && box.Y + box.H <= frame.Height,
                    $"box {box.Id} [{box.X}, {box.Y}, {box.W}, {box.H}] outside {frame.Width}x{frame.Height}");
                Assert.Equal(box.W * box.H / 2.0, box.Area);
                Assert.Equal(0, box.IsCrowd);
                Assert.True(boxIds.Add(box.Id), $"box id {box.Id} repeats");
            }
        }

        Assert.NotEmpty(boxIds);
    }

    [Fact]
    public void Boxed_super_classes_have_one_to_ten_boxes_an_image_and_the_others_none()
    {
        var table = CorpusJson.Table2.ToDictionary(r => r.Name);
        foreach ((CorpusJsonFile boxes, CorpusJsonFile labels) in new[] { (corpus.Json.TrainBoxes, corpus.Json.Train), (corpus.Json.ValBoxes, corpus.Json.Val) })
        {
            var perImage = boxes.Boxes.GroupBy(b => b.ImageId).ToDictionary(g => g.Key, g => g.Count());
            Assert.Equal(perImage.Count, boxes.Images.Count);
            foreach (JsonImage image in labels.Images)
            {
                string superClass = labels.Categories[labels.Labels[image.Id]].Supercategory;
                int count = perImage.GetValueOrDefault(image.Id);
                if (!BoxedSuperClasses.Contains(superClass))
                {
                    Assert.Equal(0, count);
                    continue;
                }

                var row = table[superClass];
                // Table 2 gives Arachnida fewer boxes than images: only there may an image go without
                int lowest = row.Boxes >= row.Train + row.Val ? 1 : 0;
                Assert.InRange(count, lowest, 10);
            }
        }

        var all = corpus.Json.TrainBoxes.Boxes.GroupBy(b => b.ImageId).Select(g => g.Count()).ToArray();
        Assert.Contains(all, c => c >= 2);
    }

    [Fact]
    public void Image_ids_are_unique_across_splits_and_bbox_files_reuse_them()
    {
        var ids = new HashSet<long>();
        foreach (CorpusJsonFile file in new[] { corpus.Json.Train, corpus.Json.Val, corpus.Json.Test })
        {
            foreach (JsonImage image in file.Images) Assert.True(ids.Add(image.Id), $"image id {image.Id} repeats");
        }

        Assert.Subset(corpus.Json.Train.Images.Select(i => i.Id).ToHashSet(), corpus.Json.TrainBoxes.Images.Select(i => i.Id).ToHashSet());
        Assert.Subset(corpus.Json.Val.Images.Select(i => i.Id).ToHashSet(), corpus.Json.ValBoxes.Images.Select(i => i.Id).ToHashSet());
    }

    /// <summary>Reads the embedded csv independently of the generator's own loader.</summary>
    private static Dictionary<int, (string Name, string Supercategory, bool Boxed)> ReadSpeciesCsv()
    {
        using Stream stream = typeof(CorpusGenerator).Assembly.GetManifestResourceStream("inat2017_categories.csv")!;
        using var reader = new StreamReader(stream, Encoding.UTF8);
        reader.ReadLine();
        var rows = new Dictionary<int, (string, string, bool)>();
        while (reader.ReadLine() is { Length: > 0 } line)
        {
            string[] fields = line.Split(',');
            rows.Add(int.Parse(fields[0]), (fields[1], fields[2], fields[3] == "1"));
        }

        Assert.Equal(5089, rows.Count);
        return rows;
    }

    [GeneratedRegex(@"^train_val_images/(?<super>[A-Za-z]+)/(?<species>[^/]+)/[0-9a-f]{32}\.jpg$")]
    private static partial Regex TrainValFileName();

    [GeneratedRegex(@"^test2017/[0-9a-f]{32}\.jpg$")]
    private static partial Regex TestFileName();
}
