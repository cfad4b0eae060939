using System.Security.Cryptography;
using Pipeline.Schema;
using Pipeline.Storage;

namespace Pipeline.Tests.Storage;

public sealed class DatasetMergerTests
{
    [Fact]
    public async Task Merge_writes_every_recorded_row_once_ordered_by_partition_then_file_order()
    {
        using var temp = new TempFolder();
        List<PartCommit> commits = await SampleJob.WritePartsAsync(temp.Path);

        MergeResult result = await DatasetMerger.MergeAsync(SampleJob.Request(temp.Path, commits));

        Assert.False(result.ReusedExisting);
        Assert.Equal(SampleJob.OutputRows, result.OutputRows);
        Assert.Equal(SampleJob.Quarantined, result.QuarantinedRows);
        Assert.True(File.Exists(Path.Combine(result.DatasetPath, "_SUCCESS")));
        string aves = Path.Combine(result.DatasetPath, "images", "split=train", "supercategory=Aves", "part-00000.parquet");
        await using ImagePartReader reader = await ImagePartReader.OpenAsync(aves);
        var back = new List<ImageRow>();
        await foreach (ImageRow row in reader.ReadAllAsync())
            back.Add(row);
        RowAssert.Identical([.. SampleRows.For("train", "Aves", 1000, 6), .. SampleRows.For("train", "Aves", 2000, 5)], back);
    }

    [Fact]
    public async Task Merge_ignores_an_unrecorded_duplicate_attempt_lying_in_parts()
    {
        using var temp = new TempFolder();
        List<PartCommit> commits = await SampleJob.WritePartsAsync(temp.Path);
        // a late worker's second attempt of an already recorded partition: same images, committed but never recorded
        await PartFiles.WriteAttemptAsync(temp.Path, "train-Aves-00000", 2, SampleRows.For("train", "Aves", 1000, 6), SampleRows.Errors(1006, 1));

        MergeResult result = await DatasetMerger.MergeAsync(SampleJob.Request(temp.Path, commits));

        string images = DuckDb.Literal(Path.Combine(result.DatasetPath, "images", "**", "*.parquet"));
        object?[] counts = DuckDb.Query($"SELECT count(*), count(DISTINCT image_id) FROM read_parquet({images})")[0];
        Assert.Equal(SampleJob.OutputRows, Convert.ToInt64(counts[0]));
        Assert.Equal(SampleJob.OutputRows, Convert.ToInt64(counts[1]));
        Assert.Equal(SampleJob.Quarantined,
            Convert.ToInt64(DuckDb.Scalar($"SELECT count(*) FROM read_parquet({DuckDb.Literal(Path.Combine(result.DatasetPath, "errors.parquet"))})")));
    }

    [Fact]
    public async Task Merge_run_twice_returns_the_same_manifest_and_leaves_file_bytes_unchanged()
    {
        using var temp = new TempFolder();
        List<PartCommit> commits = await SampleJob.WritePartsAsync(temp.Path);
        MergeResult first = await DatasetMerger.MergeAsync(SampleJob.Request(temp.Path, commits));
        Dictionary<string, (byte[] Sha256, DateTime Written)> before = Snapshot(first.DatasetPath);

        MergeResult second = await DatasetMerger.MergeAsync(SampleJob.Request(temp.Path, commits));

        Assert.True(second.ReusedExisting);
        Assert.Equal(first.Files, second.Files);
        Assert.Equal(first.OutputRows, second.OutputRows);
        Dictionary<string, (byte[] Sha256, DateTime Written)> after = Snapshot(second.DatasetPath);
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        foreach ((string file, (byte[] sha256, DateTime written)) in before)
        {
            Assert.Equal(sha256, after[file].Sha256);
            Assert.Equal(written, after[file].Written);
        }
    }

    [Fact]
    public async Task Merge_for_another_job_rebuilds_and_replaces_the_dataset()
    {
        using var temp = new TempFolder();
        List<PartCommit> commits = await SampleJob.WritePartsAsync(temp.Path);
        await DatasetMerger.MergeAsync(SampleJob.Request(temp.Path, commits, job: "job-1"));

        MergeResult second = await DatasetMerger.MergeAsync(SampleJob.Request(temp.Path, commits, job: "job-2"));

        Assert.False(second.ReusedExisting);
        DatasetManifest manifest = await DatasetManifest.ReadAsync(Path.Combine(second.DatasetPath, "_manifest.json"));
        Assert.Equal("job-2", manifest.Job);
        Assert.Equal(["dataset", "parts"], Directory.GetDirectories(temp.Path).Select(Path.GetFileName).Order());
    }

    [Fact]
    public async Task Merge_fails_loudly_when_input_images_do_not_add_up_and_writes_no_success()
    {
        using var temp = new TempFolder();
        List<PartCommit> commits = await SampleJob.WritePartsAsync(temp.Path);

        var error = await Assert.ThrowsAsync<MergeInvariantException>(() =>
            DatasetMerger.MergeAsync(SampleJob.Request(temp.Path, commits, inputImages: SampleJob.InputImages + 2)));

        Assert.Equal(SampleJob.InputImages + 2, error.InputImages);
        Assert.Equal(SampleJob.OutputRows, error.OutputRows);
        Assert.Equal(SampleJob.Quarantined, error.QuarantinedRows);
        Assert.Contains("25", error.Message);
        Assert.False(Directory.Exists(Path.Combine(temp.Path, "dataset")));
        Assert.Empty(Directory.GetDirectories(temp.Path, "dataset*"));
    }

    [Fact]
    public async Task Merge_fails_loudly_on_a_recorded_part_whose_sha256_does_not_match()
    {
        using var temp = new TempFolder();
        List<PartCommit> commits = await SampleJob.WritePartsAsync(temp.Path);
        string victim = PartFiles.Resolve(temp.Path, commits[1].RowsPath);
        byte[] bytes = File.ReadAllBytes(victim);
        bytes[bytes.Length / 2] ^= 0x5A; // one flipped byte, same size
        File.WriteAllBytes(victim, bytes);

        var error = await Assert.ThrowsAsync<CorruptPartException>(() =>
            DatasetMerger.MergeAsync(SampleJob.Request(temp.Path, commits)));

        Assert.Equal("train-Aves-00001", error.PartitionId);
        Assert.Equal(commits[1].RowsSha256, error.ExpectedSha256);
        Assert.NotEqual(commits[1].RowsSha256, error.ActualSha256);
        Assert.False(Directory.Exists(Path.Combine(temp.Path, "dataset")));
    }

    [Fact]
    public async Task Merge_rolls_to_several_part_files_when_the_file_size_limit_is_tiny()
    {
        using var temp = new TempFolder();
        var tiny = new ParquetLayoutOptions { MaxFileBytes = 4_000, RowGroupMaxRows = 2 };
        List<PartCommit> commits = await SampleJob.WritePartsAsync(temp.Path);

        MergeResult result = await DatasetMerger.MergeAsync(SampleJob.Request(temp.Path, commits, layout: tiny));

        string aves = Path.Combine(result.DatasetPath, "images", "split=train", "supercategory=Aves");
        string[] files = Directory.GetFiles(aves).Order().ToArray();
        Assert.True(files.Length >= 3, $"only {files.Length} files");
        Assert.Equal("part-00000.parquet", Path.GetFileName(files[0]));
        Assert.Equal("part-00001.parquet", Path.GetFileName(files[1]));
        long rows = 0;
        foreach (string file in files)
        {
            await using ImagePartReader reader = await ImagePartReader.OpenAsync(file);
            rows += reader.RowCount;
        }
        Assert.Equal(11, rows);
    }

    [Fact]
    public async Task Merge_writes_the_quarantine_rows_of_recorded_attempts_to_errors_parquet()
    {
        using var temp = new TempFolder();
        List<PartCommit> commits = await SampleJob.WritePartsAsync(temp.Path);

        MergeResult result = await DatasetMerger.MergeAsync(SampleJob.Request(temp.Path, commits));

        await using ErrorRowReader reader = await ErrorRowReader.OpenAsync(Path.Combine(result.DatasetPath, "errors.parquet"));
        var errors = new List<ErrorRow>();
        await foreach (ErrorRow error in reader.ReadAllAsync())
            errors.Add(error);
        Assert.Equal([.. SampleRows.Errors(1006, 1), .. SampleRows.Errors(3004, 2, 2), .. SampleRows.Errors(5000, 2)], errors);
    }

    [Fact]
    public async Task Merge_rejects_an_image_that_two_partitions_both_hold()
    {
        using var temp = new TempFolder();
        List<PartCommit> commits = await SampleJob.WritePartsAsync(temp.Path);
        // a planner bug: image 2000 is in another partition too; the counts alone still add up
        commits.Add(await PartFiles.WriteAttemptAsync(temp.Path, "train-Aves-00002", 1, SampleRows.For("train", "Aves", 2000, 1), []));

        var error = await Assert.ThrowsAsync<MergeInvariantException>(() =>
            DatasetMerger.MergeAsync(SampleJob.Request(temp.Path, commits, inputImages: SampleJob.InputImages + 1)));

        Assert.Contains("image 2000", error.Message);
        Assert.False(Directory.Exists(Path.Combine(temp.Path, "dataset")));
    }

    [Fact]
    public async Task Merge_manifest_lists_every_file_with_its_rows_bytes_and_sha256()
    {
        using var temp = new TempFolder();
        List<PartCommit> commits = await SampleJob.WritePartsAsync(temp.Path);

        MergeResult result = await DatasetMerger.MergeAsync(SampleJob.Request(temp.Path, commits));

        DatasetManifest manifest = await DatasetManifest.ReadAsync(Path.Combine(result.DatasetPath, "_manifest.json"));
        Assert.Equal(("job-1", "config-abc", "model-sha"), (manifest.Job, manifest.ConfigHash, manifest.ModelSha256));
        Assert.Equal(new ManifestTotals(SampleJob.InputImages, SampleJob.OutputRows, SampleJob.Quarantined), manifest.Totals);
        Assert.Equal(commits.Count, manifest.Parts.Count);
        string[] onDisk = Directory.GetFiles(result.DatasetPath, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(result.DatasetPath, f).Replace('\\', '/'))
            .Where(f => f is not "_manifest.json" and not "_SUCCESS").Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(onDisk, manifest.Files.Select(f => f.Path));
        foreach (DatasetFileEntry file in manifest.Files)
        {
            byte[] bytes = File.ReadAllBytes(PartFiles.Resolve(result.DatasetPath, file.Path));
            Assert.Equal(file.Bytes, bytes.Length);
            Assert.Equal(file.Sha256, Convert.ToHexStringLower(SHA256.HashData(bytes)));
        }
        Assert.Equal(SampleJob.OutputRows, manifest.Files.Where(f => f.Path.StartsWith("images/", StringComparison.Ordinal)).Sum(f => f.Rows));
        Assert.Equal(3, manifest.Files.Single(f => f.Path == "box_size_histograms.parquet").Rows);
    }

    [Fact]
    public async Task Merge_removes_the_build_folder_of_a_crashed_merge_and_never_publishes_it()
    {
        using var temp = new TempFolder();
        List<PartCommit> commits = await SampleJob.WritePartsAsync(temp.Path);
        string crashed = Path.Combine(temp.Path, "dataset.tmp-0123456789abcdef");
        Directory.CreateDirectory(crashed);
        File.WriteAllText(Path.Combine(crashed, "_SUCCESS"), "");

        MergeResult result = await DatasetMerger.MergeAsync(SampleJob.Request(temp.Path, commits));

        Assert.False(Directory.Exists(crashed));
        Assert.True(File.Exists(Path.Combine(result.DatasetPath, "_SUCCESS")));
    }

    private static Dictionary<string, (byte[] Sha256, DateTime Written)> Snapshot(string folder)
    {
        var snapshot = new Dictionary<string, (byte[], DateTime)>();
        foreach (string file in Directory.GetFiles(folder, "*", SearchOption.AllDirectories))
            snapshot[Path.GetRelativePath(folder, file)] = (SHA256.HashData(File.ReadAllBytes(file)), File.GetLastWriteTimeUtc(file));
        return snapshot;
    }
}
