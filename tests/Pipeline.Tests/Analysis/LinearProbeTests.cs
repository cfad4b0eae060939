using Pipeline.Analysis;
using Pipeline.Tests.Cluster;

namespace Pipeline.Tests.Analysis;

/// <summary>
/// The linear probe on embeddings the whole pipeline made: far above chance with the real labels, at chance with the
/// train labels shuffled. Both together show that each row's label and embedding stayed joined through partitioning,
/// workers, commits and the merge.
/// </summary>
[Collection(PipelineDatasetCollection.Name)]
[Trait("Category", "Slow")]
public sealed class LinearProbeTests(PipelineDatasetFixture data)
{
    [Fact]
    public async Task Probe_on_the_pipeline_embeddings_is_far_above_chance()
    {
        ProbeResult probe = (await data.ProbesAsync()).Real;

        Assert.Equal(13, probe.Classes);
        Assert.Equal(512, probe.EmbeddingDimension);
        Assert.Equal(data.Summary.TrainImages - data.BrokenFiles.Count, probe.TrainImages);
        Assert.Equal(data.Summary.ValImages, probe.ValImages);
        Assert.Equal(1.0 / 13, probe.ChanceTop1, 9);
        // chance is 7.7% per species; generated species differ in colour, shape and markings, which ResNet-18 sees
        Assert.True(probe.MeanClassTop1 >= 0.6, $"mean per-species top-1 {probe.MeanClassTop1:P1} (chance {probe.ChanceTop1:P1})");
        Assert.True(probe.Top1 >= 0.8, $"top-1 {probe.Top1:P1}");
        Assert.True(probe.Top5 >= probe.Top1);
        Assert.True(probe.Top5 >= 0.9, $"top-5 {probe.Top5:P1}");
    }

    [Fact]
    public async Task Probe_with_shuffled_train_labels_falls_to_chance()
    {
        ProbeRuns runs = await data.ProbesAsync();
        double chance = runs.Real.ChanceTop1;
        double meanClassTop1 = runs.Shuffled.Average(p => p.MeanClassTop1);
        double top1 = runs.Shuffled.Average(p => p.Top1);

        Assert.All(runs.Shuffled, p => Assert.True(p.ShuffledLabels));
        // an input-blind classifier scores 1/classes on the per-species mean, whatever the class sizes; three seeds
        // averaged, 52 val images: within 2× chance (the real labels score over 8×)
        Assert.True(meanClassTop1 <= 2 * chance, $"shuffled-label mean per-species top-1 {meanClassTop1:P1}, chance {chance:P1}");
        // over images it can do no better than guessing the val split's largest class every time
        double largestValShare = runs.Real.Superclasses.Max(s => s.ValImages) / (double)runs.Real.ValImages;
        Assert.True(top1 <= largestValShare + 0.1, $"shuffled-label top-1 {top1:P1}, largest val class {largestValShare:P1}");
        Assert.True(runs.Real.Top1 - top1 >= 0.5, $"real {runs.Real.Top1:P1} against shuffled {top1:P1}");
    }

    [Fact]
    public async Task Table_4_rows_add_up_to_the_dataset()
    {
        ProbeResult probe = (await data.ProbesAsync()).Real;

        Assert.Equal(13, probe.Superclasses.Count); // the demo scale has one species in each super-class
        Assert.Equal("Plantae", probe.Superclasses[0].Supercategory); // the paper's order
        Assert.Equal(probe.TrainImages, probe.Superclasses.Sum(s => s.TrainImages));
        Assert.Equal(probe.ValImages, probe.Superclasses.Sum(s => s.ValImages));
        Assert.Equal(probe.Classes, probe.Superclasses.Sum(s => s.Classes));
        foreach (ProbeSuperclassRow row in probe.Superclasses)
        {
            Assert.InRange(row.Top1, 0, row.Top5);
            Assert.InRange(row.Top5, 0, 1);
            Assert.Equal(row.TrainImages / (double)row.Classes, row.AverageTrainImages, 9);
        }
        string text = probe.ToText();
        Assert.Contains("Table 3 layout", text);
        Assert.Contains("Table 4 layout", text);
        Assert.Contains("Actinopterygii", text);
    }

    [Fact]
    public async Task Probe_command_writes_the_same_json_the_library_computes_and_prints_both_tables()
    {
        ProbeResult expected = (await data.ProbesAsync()).Real;
        string output = Path.Combine(data.Root, "cli-probe.json");

        using var process = new NodeProcess("probe", "probe", "--dataset", data.Dataset, "--out", output);
        int exit = await process.WaitForExitAsync(TimeSpan.FromMinutes(2));

        Assert.True(exit == 0, process.Output);
        Assert.Contains("Table 3 layout", process.Output);
        Assert.Contains("Table 4 layout", process.Output);
        ProbeResult written = ProbeResult.Parse(File.ReadAllText(output), output);
        // one trainer thread and one seed: the same numbers on every run
        Assert.Equal(expected.Top1, written.Top1);
        Assert.Equal(expected.Top5, written.Top5);
        Assert.Equal(expected.MeanClassTop1, written.MeanClassTop1);
        Assert.Equal(expected.Superclasses.Select(s => s.Top1), written.Superclasses.Select(s => s.Top1));
        Assert.False(written.ShuffledLabels);
    }

    [Fact]
    public async Task Probe_of_a_folder_that_is_not_a_dataset_fails_with_one_clear_line()
    {
        using var process = new NodeProcess("probe", "probe", "--dataset", data.Corpus);
        int exit = await process.WaitForExitAsync(TimeSpan.FromMinutes(1));

        Assert.NotEqual(0, exit);
        Assert.Contains("is not a dataset folder", process.Output);
        Assert.DoesNotContain("   at ", process.Output); // no stack trace
    }
}
