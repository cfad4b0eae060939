using FsCheck.Xunit;
using Pipeline.Schema;
using Pipeline.Storage;

namespace Pipeline.Tests.Storage;

public sealed class ImagePartRoundTripTests
{
    [Property(Arbitrary = [typeof(ImageRowArbitraries)], MaxTest = 60)]
    public async Task Part_file_round_trips_random_rows_identically(ImageRowBatch batch)
    {
        var options = new ParquetLayoutOptions { RowGroupMaxRows = batch.RowGroupMaxRows };
        using var file = new MemoryStream();
        await using (ImagePartWriter writer = await ImagePartWriter.CreateAsync(file, ImageFileLayout.Part, options, leaveOpen: true))
        {
            foreach (ImageRow row in batch.Rows)
                await writer.WriteAsync(row);
            await writer.CompleteAsync();
        }

        file.Position = 0;
        await using ImagePartReader reader = await ImagePartReader.OpenAsync(file, leaveOpen: true);
        var back = new List<ImageRow>();
        await foreach (ImageRow row in reader.ReadAllAsync())
            back.Add(row);

        Assert.Equal(batch.Rows.Length, reader.RowCount);
        Assert.Equal((batch.Rows.Length + batch.RowGroupMaxRows - 1) / batch.RowGroupMaxRows, reader.RowGroupCount);
        RowAssert.Identical(batch.Rows, back);
    }

    [Fact]
    public async Task Dataset_file_takes_split_and_supercategory_from_its_hive_folders()
    {
        using var temp = new TempFolder();
        string folder = Path.Combine(temp.Path, "images", HivePath.PartitionFolder("val", "Fungi"));
        Directory.CreateDirectory(folder);
        string path = Path.Combine(folder, "part-00000.parquet");
        ImageRow[] rows = SampleRows.For("val", "Fungi", 1, 9);
        await using (ImagePartWriter writer = await ImagePartWriter.CreateAsync(File.Create(path), ImageFileLayout.Dataset))
        {
            foreach (ImageRow row in rows)
                await writer.WriteAsync(row);
            await writer.CompleteAsync();
        }

        await using ImagePartReader reader = await ImagePartReader.OpenAsync(path);
        ImageRow[] back = await reader.ReadRowGroupAsync(0);

        Assert.Equal(ImageFileLayout.Dataset, reader.Layout);
        RowAssert.Identical(rows, back);
        // the file itself has no partition columns: they live only in the path
        List<string> columns = DuckDb.Query($"SELECT name FROM parquet_schema({DuckDb.Literal(path)})").Select(r => (string)r[0]!).ToList();
        Assert.Contains("image_id", columns);
        Assert.DoesNotContain("split", columns);
        Assert.DoesNotContain("supercategory", columns);
    }

    [Fact]
    public async Task Writer_cuts_a_row_group_when_the_byte_target_is_reached()
    {
        // ~30 KB per row (20 KB image, 512-float embedding): a 100 KB target gives row groups of 4 rows.
        var options = new ParquetLayoutOptions { RowGroupTargetBytes = 100_000 };
        ImageRow[] rows = SampleRows.For("train", "Aves", 1, 20, embeddingLength: 512, imageBytes: 20_000);
        using var file = new MemoryStream();
        await using (ImagePartWriter writer = await ImagePartWriter.CreateAsync(file, ImageFileLayout.Part, options, leaveOpen: true))
        {
            foreach (ImageRow row in rows)
                await writer.WriteAsync(row);
            await writer.CompleteAsync();
            Assert.InRange(writer.RowGroupCount, 4, 7);
        }

        file.Position = 0;
        await using ImagePartReader reader = await ImagePartReader.OpenAsync(file);
        Assert.Equal(20, reader.RowCount);
        Assert.InRange(reader.RowGroupCount, 4, 7);
    }

    [Fact]
    public async Task Writer_rejects_a_row_without_file_name_with_its_image_id()
    {
        using var file = new MemoryStream();
        await using ImagePartWriter writer = await ImagePartWriter.CreateAsync(file, ImageFileLayout.Part);
        ImageRow bad = SampleRows.For("train", "Aves", 77, 1)[0] with { FileName = null! };

        var error = await Assert.ThrowsAsync<ArgumentException>(async () => await writer.WriteAsync(bad));

        Assert.Contains("image 77", error.Message);
    }

    [Fact]
    public async Task Reader_rejects_a_parquet_file_that_holds_no_image_rows()
    {
        using var temp = new TempFolder();
        string path = Path.Combine(temp.Path, "histograms.parquet");
        await using (FileStream output = File.Create(path))
            await StatisticsFiles.WriteHistogramsAsync(output, [new HistogramBinRow("train", "Aves", 0, 0.1, 1)]);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => ImagePartReader.OpenAsync(path));

        Assert.Contains("not an image row file", error.Message);
    }

    [Fact]
    public async Task Abandoned_writer_leaves_no_valid_parquet_file()
    {
        using var file = new MemoryStream();
        await using (ImagePartWriter writer = await ImagePartWriter.CreateAsync(file, ImageFileLayout.Part, leaveOpen: true))
        {
            foreach (ImageRow row in SampleRows.For("train", "Aves", 1, 5))
                await writer.WriteAsync(row);
        }

        file.Position = 0;
        await Assert.ThrowsAnyAsync<Exception>(() => ImagePartReader.OpenAsync(file));
    }
}
