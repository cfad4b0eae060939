using System.Security.Cryptography;
using Pipeline.Schema;
using Pipeline.Storage;

namespace Pipeline.Tests.Storage;

public sealed class PartFilesTests
{
    [Fact]
    public async Task WriteAttempt_commits_rows_and_quarantine_sidecar_at_the_attempt_paths()
    {
        using var temp = new TempFolder();
        ImageRow[] rows = SampleRows.For("train", "Aves", 100, 7);
        ErrorRow[] errors = SampleRows.Errors(107, 2, attempt: 3);

        PartCommit commit = await PartFiles.WriteAttemptAsync(temp.Path, "train-Aves-00012", 3, rows, errors);

        Assert.Equal("parts/train-Aves-00012/attempt-3.parquet", commit.RowsPath);
        Assert.Equal("parts/train-Aves-00012/attempt-3.errors.parquet", commit.ErrorsPath);
        Assert.Equal(7, commit.Rows);
        Assert.Equal(2, commit.ErrorRows);
        string rowsFile = PartFiles.Resolve(temp.Path, commit.RowsPath);
        string errorsFile = PartFiles.Resolve(temp.Path, commit.ErrorsPath);
        Assert.Equal(new FileInfo(rowsFile).Length, commit.RowsBytes);
        Assert.Equal(new FileInfo(errorsFile).Length, commit.ErrorsBytes);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(rowsFile))), commit.RowsSha256);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(errorsFile))), commit.ErrorsSha256);
        // nothing but the two committed files: the temporary names are gone
        Assert.Equal(2, Directory.GetFiles(Path.GetDirectoryName(rowsFile)!).Length);

        await using ImagePartReader reader = await ImagePartReader.OpenAsync(rowsFile);
        RowAssert.Identical(rows, await reader.ReadRowGroupAsync(0));
        await using ErrorRowReader errorReader = await ErrorRowReader.OpenAsync(errorsFile);
        Assert.Equal(errors, await errorReader.ReadRowGroupAsync(0));
    }

    [Fact]
    public void WriteAttempt_refuses_to_overwrite_a_committed_attempt()
    {
        using var temp = new TempFolder();
        PartFiles.WriteAttempt(temp.Path, "val-Aves-00001", 1, SampleRows.For("val", "Aves", 1, 3), []);
        string committed = PartFiles.Resolve(temp.Path, PartFiles.RowsRelativePath("val-Aves-00001", 1));
        byte[] before = File.ReadAllBytes(committed);

        var error = Assert.Throws<IOException>(() =>
            PartFiles.WriteAttempt(temp.Path, "val-Aves-00001", 1, SampleRows.For("val", "Aves", 50, 3), []));

        Assert.Contains("new attempt number", error.Message);
        Assert.Equal(before, File.ReadAllBytes(committed));
    }

    [Fact]
    public async Task WriteAttempt_rejects_rows_of_two_supercategories_and_leaves_no_file()
    {
        using var temp = new TempFolder();
        ImageRow[] rows = [.. SampleRows.For("train", "Aves", 1, 2), .. SampleRows.For("train", "Plantae", 10, 1)];

        var error = await Assert.ThrowsAsync<ArgumentException>(() =>
            PartFiles.WriteAttemptAsync(temp.Path, "train-Aves-00000", 1, rows, []));

        Assert.Contains("image 10", error.Message);
        Assert.Empty(Directory.GetFiles(Path.Combine(temp.Path, "parts", "train-Aves-00000")));
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("train/Aves")]
    [InlineData(".hidden")]
    [InlineData("")]
    public void WriteAttempt_rejects_a_partition_id_that_is_not_a_plain_folder_name(string partitionId)
    {
        using var temp = new TempFolder();

        Assert.Throws<ArgumentException>(() =>
            PartFiles.WriteAttempt(temp.Path, partitionId, 1, SampleRows.For("train", "Aves", 1, 1), []));
        Assert.False(Directory.Exists(Path.Combine(temp.Path, "parts")) && Directory.EnumerateFileSystemEntries(Path.Combine(temp.Path, "parts")).Any());
    }

    [Fact]
    public async Task Attempt_writer_disposed_without_commit_leaves_no_file()
    {
        using var temp = new TempFolder();
        await using (PartAttemptWriter writer = await PartAttemptWriter.CreateAsync(temp.Path, "train-Aves-00003", 1))
        {
            foreach (ImageRow row in SampleRows.For("train", "Aves", 1, 4))
                await writer.AddAsync(row);
            await writer.AddErrorAsync(SampleRows.Errors(5, 1)[0]);
        }

        Assert.Empty(Directory.GetFiles(Path.Combine(temp.Path, "parts", "train-Aves-00003")));
    }

    [Fact]
    public async Task Merged_parts_are_deleted_only_once_the_dataset_is_published()
    {
        using var temp = new TempFolder();
        List<PartCommit> commits = await SampleJob.WritePartsAsync(temp.Path);
        Assert.Throws<InvalidOperationException>(() => PartFiles.DeleteMergedParts(temp.Path));
        Assert.True(Directory.Exists(Path.Combine(temp.Path, "parts")));

        await DatasetMerger.MergeAsync(SampleJob.Request(temp.Path, commits));
        long freed = PartFiles.DeleteMergedParts(temp.Path);

        Assert.Equal(commits.Sum(c => c.RowsBytes + c.ErrorsBytes), freed);
        Assert.False(Directory.Exists(Path.Combine(temp.Path, "parts")));
        // a rerun of the same merge still finds its published dataset without the parts
        Assert.True((await DatasetMerger.MergeAsync(SampleJob.Request(temp.Path, commits))).ReusedExisting);
    }
}
