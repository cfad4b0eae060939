using System.Text.RegularExpressions;
using Pipeline.Storage;
using Pipeline.Tests.Kubernetes;

namespace Pipeline.Tests.Storage;

/// <summary>The one way Pipeline writes a file that must never be seen torn: temporary name, fsync, rename, fsync folder.</summary>
public sealed class DurableFilesTests : IDisposable
{
    private readonly TempFolder _temp = new();

    private string Folder => _temp.Path;

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Writes_replace_the_file_whole_and_leave_no_temporary()
    {
        var path = Path.Combine(Folder, "result.json");
        DurableFiles.WriteAllText(path, "old");
        DurableFiles.Write(path, stream => stream.Write("new"u8));
        Assert.Equal("new", File.ReadAllText(path));
        await DurableFiles.WriteAllTextAsync(path, "newer", CancellationToken.None);
        Assert.Equal("newer", File.ReadAllText(path));
        Assert.Equal(["result.json"], Directory.GetFiles(Folder).Select(Path.GetFileName));
    }

    [Fact]
    public async Task A_writer_that_fails_leaves_the_old_file_and_no_temporary()
    {
        var path = Path.Combine(Folder, "manifest.json");
        DurableFiles.WriteAllText(path, "committed");

        Assert.Throws<InvalidOperationException>(() => DurableFiles.Write(path, stream =>
        {
            stream.Write("half a fi"u8);
            throw new InvalidOperationException("disk gone");
        }));
        await Assert.ThrowsAsync<InvalidOperationException>(() => DurableFiles.WriteAsync(path, async (stream, cancellation) =>
        {
            await stream.WriteAsync("half"u8.ToArray(), cancellation);
            throw new InvalidOperationException("disk gone");
        }, CancellationToken.None));

        Assert.Equal("committed", File.ReadAllText(path));
        Assert.Equal(["manifest.json"], Directory.GetFiles(Folder).Select(Path.GetFileName));
    }

    [Fact]
    public void A_committed_file_is_not_replaced_unless_asked()
    {
        var path = Path.Combine(Folder, "attempt-1.parquet");
        File.WriteAllText(path, "committed");
        var temporary = DurableFiles.TemporaryPathFor(path);
        File.WriteAllText(temporary, "late duplicate");

        Assert.Throws<IOException>(() => DurableFiles.MoveIntoPlace(temporary, path));
        Assert.Equal("committed", File.ReadAllText(path));
        DurableFiles.MoveIntoPlace(temporary, path, replace: true);
        Assert.Equal("late duplicate", File.ReadAllText(path));
    }

    [Fact]
    public void No_other_source_file_renames_a_file_into_place()
    {
        var renames = Directory.EnumerateFiles(RepositoryTree.PathOf("src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && Path.GetFileName(f) != "DurableFiles.cs")
            .Where(f => Regex.IsMatch(File.ReadAllText(f), @"\bFile\.(Move|Replace)\("))
            .Select(f => Path.GetRelativePath(RepositoryTree.Root, f));
        Assert.Empty(renames);
    }
}
