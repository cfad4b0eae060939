using Pipeline.Corpus;
using Pipeline.Jobs;

namespace Pipeline.Tests.Jobs;

public class PartitionPlannerTests
{
    private static readonly Dictionary<int, Category> Categories = new()
    {
        [1] = new Category(1, "Turdus migratorius", "Aves"),
        [2] = new Category(2, "Amanita muscaria", "Fungi"),
    };

    private static IEnumerable<CorpusImage> Images(int count)
    {
        for (var i = 0; i < count; i++)
            yield return new CorpusImage(i, $"train_val_images/x/{i}.jpg", 800, 600, i % 3 == 0 ? "val" : "train", i % 2 == 0 ? 1 : 2,
                i % 2 == 0 ? [new BoxAnnotation(i, 1, 2, 30, 40)] : []);
    }

    [Fact]
    public void Partitions_never_span_two_groups_and_cover_every_image_once()
    {
        var dir = Directory.CreateTempSubdirectory("plan-");
        try
        {
            var plan = PartitionPlanner.Plan("job", Images(103), Categories, dir.FullName, partitionSize: 10);
            Assert.Equal(103, plan.Images);
            Assert.Equal(103, plan.Partitions.Sum(p => p.Images));
            var seen = new HashSet<long>();
            foreach (var partition in plan.Partitions)
            {
                Assert.InRange(partition.Images, 1, 10);
                var images = PartitionPlanner.LoadPartition(dir.FullName, partition.Id);
                Assert.Equal(partition.Images, images.Length);
                foreach (var image in images)
                {
                    Assert.True(seen.Add(image.Id));
                    var category = Categories[image.CategoryId];
                    Assert.Equal(partition.Supercategory, category.Supercategory);
                    Assert.Equal(category.Name, image.Species);
                    Assert.Equal(partition.Split, image.Id % 3 == 0 ? "val" : "train");
                }
            }
            Assert.Equal(103, seen.Count);
            Assert.Equal(plan.Partitions.Length, PartitionPlanner.TryLoad(dir.FullName)!.Partitions.Length);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Same_corpus_gives_the_same_plan()
    {
        var a = Directory.CreateTempSubdirectory("plan-");
        var b = Directory.CreateTempSubdirectory("plan-");
        try
        {
            PartitionPlanner.Plan("job", Images(57), Categories, a.FullName, 8);
            PartitionPlanner.Plan("job", Images(57), Categories, b.FullName, 8);
            var filesA = Directory.GetFiles(a.FullName, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(a.FullName, f)).Order().ToArray();
            var filesB = Directory.GetFiles(b.FullName, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(b.FullName, f)).Order().ToArray();
            Assert.Equal(filesA, filesB);
            foreach (var f in filesA)
                Assert.Equal(File.ReadAllBytes(Path.Combine(a.FullName, f)), File.ReadAllBytes(Path.Combine(b.FullName, f)));
        }
        finally
        {
            a.Delete(true);
            b.Delete(true);
        }
    }
}
