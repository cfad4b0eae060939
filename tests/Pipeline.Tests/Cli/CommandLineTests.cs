using Pipeline.Tests.Cluster;

namespace Pipeline.Tests.Cli;

/// <summary>The `pipeline` executable itself, run as a user runs it.</summary>
[Trait("Category", "Slow")]
public sealed class CommandLineTests
{
    [Theory]
    [InlineData("synth")]
    [InlineData("stats")]
    [InlineData("run")]
    [InlineData("node")]
    [InlineData("submit")]
    [InlineData("status")]
    [InlineData("bench", "embed")]
    [InlineData("bench", "partitions")]
    [InlineData("report")]
    [InlineData("probe")]
    public async Task Every_command_has_help(params string[] command)
    {
        using var process = new NodeProcess("help", [.. command, "--help"]);
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("USAGE", process.Output, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("OPTIONS", process.Output, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Stats_on_a_missing_corpus_is_one_clear_line_without_a_stack_trace()
    {
        using var process = new NodeProcess("stats", "stats", "--corpus", "/nonexistent/corpus");
        Assert.NotEqual(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("/nonexistent/corpus", process.Output);
        Assert.DoesNotContain("   at ", process.Output);
    }

    [Fact]
    public async Task Synth_then_stats_json_reports_the_generated_counts()
    {
        var dir = Directory.CreateTempSubdirectory("pipeline-cli-").FullName;
        try
        {
            using (var synth = new NodeProcess("synth", "synth", "--out", dir, "--scale", "0.01", "--no-images"))
                Assert.Equal(0, await synth.WaitForExitAsync(TimeSpan.FromSeconds(120)));
            using var stats = new NodeProcess("stats", "stats", "--corpus", dir, "--json");
            Assert.Equal(0, await stats.WaitForExitAsync(TimeSpan.FromSeconds(120)));
            using var json = System.Text.Json.JsonDocument.Parse(stats.Output);
            var reader = new Pipeline.Corpus.CorpusReader(dir);
            var images = json.RootElement.GetProperty("images");
            Assert.Equal(reader.ReadImages("train").Count(), images.GetProperty("train_images").GetInt64());
            Assert.Equal(reader.ReadImages("val").Count(), images.GetProperty("val_images").GetInt64());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
