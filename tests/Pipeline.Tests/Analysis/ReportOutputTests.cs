using Pipeline.Tests.Cluster;

namespace Pipeline.Tests.Analysis;

/// <summary>`pipeline report` leaves the dataset as the merge wrote it: its default output goes beside the dataset.</summary>
[Collection(PipelineDatasetCollection.Name)]
[Trait("Category", "Slow")]
public sealed class ReportOutputTests(PipelineDatasetFixture data)
{
    private static List<string> Files(string dir) =>
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(dir, f)).Order(StringComparer.Ordinal).ToList();

    [Fact]
    public async Task Report_by_default_writes_beside_the_dataset_and_reads_the_probe_results_there()
    {
        await data.ProbesAsync(); // OUT/probe.json, where `pipeline probe` writes by default
        List<string> before = Files(data.Dataset);

        using (var report = new NodeProcess("report", "report", "--dataset", data.Dataset))
            Assert.True(await report.WaitForExitAsync(TimeSpan.FromMinutes(2)) == 0, report.Output);

        Assert.Equal(before, Files(data.Dataset));
        string html = Path.Combine(data.Output, "report.html");
        Assert.True(File.Exists(html));
        Assert.True(File.Exists(Path.Combine(data.Output, "report-figure2-train-images-per-species.svg")));
        Assert.Contains("Table 3 layout", await File.ReadAllTextAsync(html)); // the probe section: its results were found
    }
}
