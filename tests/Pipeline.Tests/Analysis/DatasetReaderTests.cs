using Pipeline.Analysis;
using Pipeline.Schema;

namespace Pipeline.Tests.Analysis;

/// <summary>The training reader over a dataset of many small row groups in several files.</summary>
public sealed class DatasetReaderTests
{
    private static async Task<List<(long Id, int Label, int Category, float[] Embedding, string Split, string Super, int BatchSize)>> ReadEpochAsync(
        DatasetReader reader, int epoch = 0)
    {
        var rows = new List<(long, int, int, float[], string, string, int)>();
        await foreach (TrainingBatch batch in reader.ReadBatchesAsync(epoch))
        {
            using (batch)
            {
                for (int i = 0; i < batch.Count; i++)
                    rows.Add((batch.ImageIds[i], batch.Labels[i], batch.CategoryIds[i], batch.EmbeddingOf(i).ToArray(),
                        batch.Splits[i], batch.Supercategories[i], batch.Count));
            }
        }
        return rows;
    }

    [Fact]
    public async Task Every_row_is_read_once_per_epoch_with_its_own_label_and_embedding()
    {
        using SmallDataset data = await SmallDataset.CreateAsync();
        DatasetReader reader = await DatasetReader.OpenAsync(data.Dataset, new DatasetReaderOptions { BatchSize = 8, Seed = 3 });

        var rows = await ReadEpochAsync(reader);

        Assert.Equal(data.Rows.Count, reader.RowCount);
        Assert.Equal(data.Rows.Select(r => r.ImageId).Order(), rows.Select(r => r.Id).Order());
        var expected = data.Rows.ToDictionary(r => r.ImageId);
        foreach (var row in rows)
        {
            ImageRow source = expected[row.Id];
            Assert.Equal(source.CategoryId, row.Category);
            Assert.Equal(reader.Classes.Classes[row.Label].CategoryId, row.Category);
            Assert.Equal(source.Split, row.Split);
            Assert.Equal(source.Supercategory, row.Super);
            Assert.Equal(source.Embedding, row.Embedding); // embedding[0] is the image id: rows were not mixed up
        }
        // labels are dense, in category order: 10, 11, 12, 20, 21
        Assert.Equal([10, 11, 12, 20, 21], reader.Classes.Classes.Select(c => c.CategoryId));
        // full batches, then one short one
        Assert.All(rows.Take(64), r => Assert.Equal(8, r.BatchSize));
        Assert.All(rows.Skip(64), r => Assert.Equal(70 - 64, r.BatchSize));
    }

    [Fact]
    public async Task Same_seed_and_epoch_give_the_same_order_and_another_epoch_another()
    {
        using SmallDataset data = await SmallDataset.CreateAsync();
        var options = new DatasetReaderOptions { BatchSize = 16, Seed = 11 };
        DatasetReader first = await DatasetReader.OpenAsync(data.Dataset, options);
        DatasetReader second = await DatasetReader.OpenAsync(data.Dataset, options);

        long[] epoch0 = (await ReadEpochAsync(first, 0)).Select(r => r.Id).ToArray();
        long[] again = (await ReadEpochAsync(second, 0)).Select(r => r.Id).ToArray();
        long[] epoch1 = (await ReadEpochAsync(first, 1)).Select(r => r.Id).ToArray();
        long[] fileOrder = data.Rows.Select(r => r.ImageId).ToArray();

        Assert.Equal(epoch0, again);
        Assert.NotEqual(epoch0, epoch1);
        Assert.Equal(epoch0.Order(), epoch1.Order());
        Assert.NotEqual(fileOrder.Order(), epoch0); // shuffled, not in file order
    }

    [Fact]
    public async Task Shuffling_mixes_rows_of_different_files_into_one_batch()
    {
        using SmallDataset data = await SmallDataset.CreateAsync();
        DatasetReader reader = await DatasetReader.OpenAsync(data.Dataset, new DatasetReaderOptions { BatchSize = 10, Seed = 5, ShuffleWindow = 4 });

        int mixed = 0;
        await foreach (TrainingBatch batch in reader.ReadBatchesAsync())
        {
            using (batch)
            {
                // each partition has its own id range (1000s, 2000s, ...): several ranges in a batch = several files
                if (batch.ImageIds.Select(id => id / 1000).Distinct().Count() > 1) mixed++;
            }
        }
        Assert.True(mixed >= 4, $"only {mixed} of 7 batches mix rows of different files");
    }

    [Fact]
    public async Task Memory_is_bounded_by_the_shuffle_window_not_the_dataset()
    {
        using SmallDataset data = await SmallDataset.CreateAsync(rowGroupRows: 5);
        DatasetReader reader = await DatasetReader.OpenAsync(data.Dataset, new DatasetReaderOptions { BatchSize = 4, ShuffleWindow = 2 });

        Assert.Equal(70, (await ReadEpochAsync(reader)).Count);
        // two row groups of at most 5 rows plus a tail shorter than a batch
        Assert.InRange(reader.PeakBufferedRows, 1, 2 * 5 + 3);
    }

    [Fact]
    public async Task Split_and_supercategory_filters_read_only_those_rows()
    {
        using SmallDataset data = await SmallDataset.CreateAsync();
        DatasetReader reader = await DatasetReader.OpenAsync(data.Dataset,
            new DatasetReaderOptions { Splits = ["train"], Supercategories = ["Aves"], Shuffle = false, BatchSize = 100 });

        var rows = await ReadEpochAsync(reader);

        Assert.Equal(23 + 17, rows.Count);
        Assert.All(rows, r => Assert.Equal(("train", "Aves"), (r.Split, r.Super)));
        // without shuffling, rows come in file order
        Assert.Equal(rows.Select(r => r.Id).Order(), rows.Select(r => r.Id));
        // every split shares one label numbering
        Assert.Equal(5, reader.Classes.Count);
    }

    [Fact]
    public async Task Drop_last_yields_only_full_batches()
    {
        using SmallDataset data = await SmallDataset.CreateAsync();
        DatasetReader reader = await DatasetReader.OpenAsync(data.Dataset, new DatasetReaderOptions { BatchSize = 16, DropLast = true });

        var rows = await ReadEpochAsync(reader);

        Assert.Equal(64, rows.Count);
        Assert.All(rows, r => Assert.Equal(16, r.BatchSize));
    }

    [Fact]
    public async Task Pixels_are_the_centre_crop_of_the_stored_copy_and_boxes_follow_into_it()
    {
        using SmallDataset data = await SmallDataset.CreateAsync(storedImages: true);
        DatasetReader reader = await DatasetReader.OpenAsync(data.Dataset,
            new DatasetReaderOptions { PixelSize = 32, Embeddings = false, Shuffle = false, BatchSize = 32 });

        int rows = 0;
        await foreach (TrainingBatch batch in reader.ReadBatchesAsync())
        {
            using (batch)
            {
                Assert.Equal(0, batch.EmbeddingDimension);
                for (int i = 0; i < batch.Count; i++, rows++)
                {
                    ReadOnlySpan<byte> pixels = batch.PixelsOf(i);
                    Assert.Equal(32 * 32 * 3, pixels.Length);
                    // 64×48 → shorter side 32 → 42.7×32, centre crop 32: the red/blue edge lands at x = 16
                    AssertColour(pixels, x: 4, y: 16, red: true);
                    AssertColour(pixels, x: 12, y: 16, red: true);
                    AssertColour(pixels, x: 20, y: 16, red: false);
                    AssertColour(pixels, x: 28, y: 16, red: false);
                    // a box over the right half (32, 0, 32, 48) of the stored frame covers x 16..32 of the crop
                    Assert.Equal(batch.Boxes![i].Length, batch.PixelBoxes![i].Length);
                    foreach (BoxRow box in batch.PixelBoxes[i])
                    {
                        Assert.Equal(16f, box.X, 0.01f);
                        Assert.Equal(0f, box.Y, 0.01f);
                        Assert.Equal(16f, box.W, 0.01f);
                        Assert.Equal(32f, box.H, 0.01f);
                    }
                }
            }
        }
        Assert.Equal(70, rows);
    }

    private static void AssertColour(ReadOnlySpan<byte> rgb, int x, int y, bool red)
    {
        int i = (y * 32 + x) * 3;
        (int r, int b) = (rgb[i], rgb[i + 2]);
        Assert.True(red ? r > 200 && b < 60 : b > 200 && r < 60, $"pixel ({x},{y}) is rgb({rgb[i]},{rgb[i + 1]},{rgb[i + 2]}), expected {(red ? "red" : "blue")}");
    }

    [Fact]
    public void Boxes_outside_the_crop_are_dropped_and_straddling_ones_clipped()
    {
        // a 100×50 frame decoded at 200×100, crop 50: scale 0.5 → 100×50, crop x 25..75
        BoxRow[] boxes =
        [
            new(0, 0, 20, 50, 0.3f),   // x 0..20 → 0..20 in the scaled image: left of the crop
            new(40, 10, 20, 20, 0.2f), // x 40..60 → crop 15..35
            new(70, 0, 30, 50, 0.5f),  // x 70..100 → crop 45..75, clipped to 45..50
        ];

        BoxRow[] crop = DatasetReader.ToCrop(boxes, 100, 50, 200, 100, 50);

        Assert.Equal(2, crop.Length);
        Assert.Equal(new BoxRow(15, 10, 20, 20, 0.2f), crop[0]);
        Assert.Equal(new BoxRow(45, 0, 5, 50, 0.5f), crop[1]);
    }

    [Fact]
    public async Task Reading_embeddings_of_a_dataset_made_without_a_model_says_so()
    {
        using SmallDataset data = await SmallDataset.CreateAsync(embeddings: false);
        DatasetReader reader = await DatasetReader.OpenAsync(data.Dataset);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => ReadEpochAsync(reader));
        Assert.Contains("--model none", error.Message);

        // boxes alone read fine from the same dataset
        DatasetReader boxes = await DatasetReader.OpenAsync(data.Dataset, new DatasetReaderOptions { Embeddings = false });
        int rows = 0;
        await foreach (TrainingBatch batch in boxes.ReadBatchesAsync()) using (batch) rows += batch.Count;
        Assert.Equal(70, rows);
    }

    [Fact]
    public async Task Pixels_from_a_dataset_without_stored_copies_say_how_to_get_them()
    {
        using SmallDataset data = await SmallDataset.CreateAsync();
        DatasetReader reader = await DatasetReader.OpenAsync(data.Dataset, new DatasetReaderOptions { PixelSize = 32 });

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => ReadEpochAsync(reader));
        Assert.Contains("--store-images", error.Message);
    }

    [Fact]
    public async Task Opening_a_job_output_folder_instead_of_its_dataset_names_the_dataset_folder()
    {
        using SmallDataset data = await SmallDataset.CreateAsync();

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => DatasetReader.OpenAsync(data.Root));
        Assert.Contains(Path.Combine(data.Root, "dataset"), error.Message);

        var missing = Assert.Throws<InvalidDataException>(() => DatasetFolder.Open(Path.Combine(data.Root, "nope")));
        Assert.Contains("does not exist", missing.Message);
    }

    [Fact]
    public void Options_out_of_range_are_refused_before_reading()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new DatasetReaderOptions { BatchSize = 0 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new DatasetReaderOptions { ShuffleWindow = 0 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new DatasetReaderOptions { PixelSize = 0 }.Validate());
        Assert.Throws<ArgumentException>(() => new DatasetReaderOptions { Embeddings = false, Boxes = false }.Validate());
    }
}
