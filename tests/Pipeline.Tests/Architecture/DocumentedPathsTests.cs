using System.Text.RegularExpressions;
using Pipeline.Tests.Kubernetes;

namespace Pipeline.Tests.Architecture;

/// <summary>README ("Where things are") and docs/ (architecture.md's map) point at files that exist: a move updates them.</summary>
public sealed partial class DocumentedPathsTests
{
    // `src/...`, `tests/...`, `bench/...` in backticks; a name without extension may stand for a class (`.../PublishTests`)
    [GeneratedRegex(@"`((?:src|tests|bench)/[^`*\s]+)`")]
    private static partial Regex RepositoryPath();

    public static TheoryData<string> Documents() => new(
        Directory.EnumerateFiles(RepositoryTree.PathOf("docs"), "*.md").Select(f => "docs/" + Path.GetFileName(f)).Order(StringComparer.Ordinal)
            .Prepend("README.md"));

    [Theory]
    [MemberData(nameof(Documents))]
    public void Every_source_path_named_in_the_docs_exists(string document)
    {
        string text = File.ReadAllText(RepositoryTree.PathOf(document.Split('/')));
        var paths = RepositoryPath().Matches(text).Select(m => m.Groups[1].Value).Distinct().ToList();

        var missing = paths.Where(p => !Exists(p)).ToList();

        Assert.True(missing.Count == 0, $"{document} names paths that do not exist: {string.Join(", ", missing)}");
    }

    [Fact]
    public void The_map_names_every_project()
    {
        string map = File.ReadAllText(RepositoryTree.PathOf("docs", "architecture.md"));
        var projects = Directory.EnumerateFiles(RepositoryTree.PathOf("src"), "*.csproj", SearchOption.AllDirectories)
            .Select(p => "src/" + Path.GetFileNameWithoutExtension(p));

        Assert.All(projects, project => Assert.Contains($"`{project}`", map));
    }

    private static bool Exists(string path)
    {
        string full = RepositoryTree.PathOf(path.TrimEnd('/').Split('/'));
        return File.Exists(full) || Directory.Exists(full) || File.Exists(full + ".cs");
    }
}
