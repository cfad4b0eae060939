using System.Globalization;
using System.Text.RegularExpressions;
using Pipeline.Tests.Cluster;
using Pipeline.Tests.Kubernetes;
using Pipeline.Tests.Storage;

namespace Pipeline.Tests.Analysis;

/// <summary>`pipeline sql`, README's quick-tour query run as written (its out/dataset pointed at a pipeline-made dataset).</summary>
[Collection(PipelineDatasetCollection.Name)]
[Trait("Category", "Slow")]
public sealed partial class SqlCommandTests(PipelineDatasetFixture data)
{
    [Fact]
    public async Task Readme_quick_tour_query_prints_the_counts_duckdb_reads_from_the_dataset()
    {
        Match line = QuickTourSql().Match(File.ReadAllText(RepositoryTree.PathOf("README.md")));
        Assert.True(line.Success, "README's quick tour has no `pipeline sql \"...\"` line");
        string query = line.Groups["query"].Value.Replace("'out/dataset/", "'" + data.Dataset.Replace("'", "''") + "/", StringComparison.Ordinal);

        using var sql = new NodeProcess("sql", "sql", query, "--format", "csv");
        Assert.True(await sql.WaitForExitAsync(TimeSpan.FromSeconds(60)) == 0, sql.Output);

        var printed = sql.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal("split,supercategory,images", printed[0]);
        var expected = DuckDb.Query(query).Select(r => string.Join(",", r.Select(v => Convert.ToString(v, CultureInfo.InvariantCulture)))).ToList();
        Assert.Equal(26, expected.Count); // 13 super-classes in train and in val
        Assert.Equal(expected, printed.Skip(1));
    }

    [Fact]
    public async Task A_query_duckdb_refuses_is_bad_input_with_its_message()
    {
        using var sql = new NodeProcess("sql", "sql", $"SELECT count(*) FROM read_parquet('{data.Root}/no-such-file.parquet')");
        Assert.Equal(2, await sql.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("no-such-file.parquet", sql.Output);
        Assert.DoesNotContain("   at ", sql.Output);
    }

    [GeneratedRegex("pipeline sql \"(?<query>SELECT [^\"]+)\"")]
    private static partial Regex QuickTourSql();
}
