using Pipeline.Schema;
using Pipeline.Storage;

namespace Pipeline.Tests.Storage;

/// <summary>DuckDB, an independent Parquet reader, sees the same rows and values Parquet.Net wrote.</summary>
public sealed class DuckDbReadTests
{
    [Fact]
    public async Task DuckDb_reads_part_rows_boxes_and_embeddings_as_written()
    {
        using var temp = new TempFolder();
        ImageRow[] rows = SampleRows.For("train", "Aves", 1, 40, embeddingLength: 512);
        PartCommit commit = await PartFiles.WriteAttemptAsync(temp.Path, "train-Aves-00000", 1, rows, [],
            new ParquetLayoutOptions { RowGroupMaxRows = 16 });
        string part = DuckDb.Literal(PartFiles.Resolve(temp.Path, commit.RowsPath));

        object?[] counts = DuckDb.Query($"SELECT count(*), count(DISTINCT image_id), count(image), count(embedding), sum(len(boxes))::BIGINT FROM read_parquet({part})")[0];
        Assert.Equal(40L, Convert.ToInt64(counts[0]));
        Assert.Equal(40L, Convert.ToInt64(counts[1]));
        Assert.Equal(rows.LongCount(r => r.Image is not null), Convert.ToInt64(counts[2]));
        Assert.Equal(rows.LongCount(r => r.Embedding is not null), Convert.ToInt64(counts[3]));
        Assert.Equal(rows.Sum(r => (long)r.Boxes.Length), Convert.ToInt64(counts[4]));

        ImageRow boxed = rows.First(r => r.Boxes.Length == 3 && r.Embedding is not null && r.Image is not null);
        object?[] one = DuckDb.Query(
            $"SELECT file_name, species, split, supercategory, width, resized_height, octet_length(image), boxes[2].w, boxes[3].relative_size, len(embedding), embedding[300] " +
            $"FROM read_parquet({part}) WHERE image_id = {boxed.ImageId}")[0];
        Assert.Equal(boxed.FileName, one[0]);
        Assert.Equal(boxed.Species, one[1]);
        Assert.Equal("train", one[2]);
        Assert.Equal("Aves", one[3]);
        Assert.Equal(boxed.Width, one[4]);
        Assert.Equal(boxed.ResizedHeight, one[5]);
        Assert.Equal((long)boxed.Image!.Length, Convert.ToInt64(one[6]));
        Assert.Equal(boxed.Boxes[1].W, one[7]);
        Assert.Equal(boxed.Boxes[2].RelativeSize, one[8]);
        Assert.Equal(512L, Convert.ToInt64(one[9]));
        Assert.Equal(boxed.Embedding![299], one[10]);

        ImageRow unboxed = rows.First(r => r.Boxes.Length == 0 && r.Embedding is null);
        object?[] empty = DuckDb.Query($"SELECT len(boxes), embedding IS NULL, image IS NULL FROM read_parquet({part}) WHERE image_id = {unboxed.ImageId}")[0];
        Assert.Equal(0L, Convert.ToInt64(empty[0]));
        Assert.Equal(true, empty[1]);
        Assert.Equal(unboxed.Image is null, empty[2]);
    }

    [Fact]
    public async Task DuckDb_reads_the_merged_dataset_with_hive_split_and_supercategory_columns()
    {
        using var temp = new TempFolder();
        List<PartCommit> commits = await SampleJob.WritePartsAsync(temp.Path);
        MergeResult merged = await DatasetMerger.MergeAsync(SampleJob.Request(temp.Path, commits));
        string images = DuckDb.Literal(Path.Combine(merged.DatasetPath, "images", "**", "*.parquet"));

        List<object?[]> groups = DuckDb.Query(
            $"SELECT split, supercategory, count(*), count(DISTINCT image_id) FROM read_parquet({images}, hive_partitioning=true) GROUP BY ALL ORDER BY ALL");

        Assert.Equal(3, groups.Count);
        AssertGroup(groups[0], "train", "Aves", 11);
        AssertGroup(groups[1], "train", "Plantae", 4);
        AssertGroup(groups[2], "val", "Aves", 3);

        ImageRow expected = SampleRows.For("train", "Plantae", 3000, 4)[2];
        object?[] row = DuckDb.Query(
            $"SELECT boxes[2].x, embedding[8], supercategory FROM read_parquet({images}, hive_partitioning=true) WHERE image_id = {expected.ImageId}")[0];
        Assert.Equal(expected.Boxes[1].X, row[0]);
        Assert.Equal(expected.Embedding![7], row[1]);
        Assert.Equal("Plantae", row[2]);
    }

    [Fact]
    public async Task DuckDb_reads_the_statistics_and_quarantine_files_of_the_dataset()
    {
        using var temp = new TempFolder();
        List<PartCommit> commits = await SampleJob.WritePartsAsync(temp.Path);
        MergeResult merged = await DatasetMerger.MergeAsync(SampleJob.Request(temp.Path, commits));
        string Dataset(string name) => DuckDb.Literal(Path.Combine(merged.DatasetPath, name));

        object?[] aves = DuckDb.Query($"SELECT sum(count)::BIGINT, min(bin_lo), max(bin_hi) FROM read_parquet({Dataset("box_size_histograms.parquet")}) WHERE split = 'train' AND supercategory = 'Aves'")[0];
        Assert.Equal(10L, Convert.ToInt64(aves[0]));
        Assert.Equal(0.0, aves[1]);
        Assert.Equal(0.2, aves[2]);

        object?[] oak = DuckDb.Query($"SELECT species, supercategory, split, images, boxes FROM read_parquet({Dataset("class_counts.parquet")}) WHERE category_id = 40")[0];
        Assert.Equal("Quercus × bebbiana", oak[0]);
        Assert.Equal("Plantae", oak[1]);
        Assert.Equal("train", oak[2]);
        Assert.Equal(4L, Convert.ToInt64(oak[3]));
        Assert.Equal(0L, Convert.ToInt64(oak[4]));

        List<object?[]> errors = DuckDb.Query($"SELECT image_id, stage, error, worker, attempt FROM read_parquet({Dataset("errors.parquet")}) ORDER BY image_id");
        Assert.Equal([1006L, 3004L, 3005L, 5000L, 5001L], errors.Select(e => Convert.ToInt64(e[0])));
        Assert.Equal("decode", errors[1][1]);
        Assert.Equal("TruncatedJpeg", errors[1][2]);
        Assert.Equal("worker-1", errors[1][3]);
        Assert.Equal(2, Convert.ToInt32(errors[1][4]));
    }

    /// <summary>One (split, supercategory) of the hive-partitioned images: its rows, all with distinct image ids.</summary>
    private static void AssertGroup(object?[] group, string split, string supercategory, long rows)
    {
        Assert.Equal(split, group[0]);
        Assert.Equal(supercategory, group[1]);
        Assert.Equal(rows, Convert.ToInt64(group[2]));
        Assert.Equal(rows, Convert.ToInt64(group[3]));
    }
}
