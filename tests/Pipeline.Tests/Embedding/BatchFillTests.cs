using Pipeline.Embedding;

namespace Pipeline.Tests.Embedding;

/// <summary>With announced crops, a batch waits while decoding can still fill it and runs partial only when the work drains.</summary>
[Collection(EmbeddingCollection.Name)]
public sealed class BatchFillTests(EmbeddingFixture fixture)
{
    private sealed class Collect : IEmbeddingConsumer
    {
        public readonly System.Collections.Concurrent.ConcurrentDictionary<int, float[]> Results = new();
        public readonly CountdownEvent Done;

        public Collect(int count) => Done = new CountdownEvent(count);

        public void Embedded(object? state, ReadOnlySpan<float> embedding)
        {
            Results[(int)state!] = embedding.ToArray();
            Done.Signal();
        }

        public void Failed(object? state, Exception error) => Done.Signal();
    }

    [Fact]
    public async Task Announced_crops_fill_whole_batches_however_slowly_they_come()
    {
        // 20 ms is the unannounced rule's wait; the crops come 60 ms apart, yet every batch runs full
        await using var batcher = new EmbeddingBatcher(fixture.PixelsSession, batchSize: 4, maxWait: TimeSpan.FromMilliseconds(20));
        var consumer = new Collect(8);
        batcher.Expect(8);
        for (var i = 0; i < 8; i++)
        {
            batcher.Submit(fixture.Crops[i % EmbeddingFixture.ImageCount], consumer, i, expected: true);
            Thread.Sleep(60);
        }
        Assert.True(consumer.Done.Wait(TimeSpan.FromSeconds(30)));
        var (batches, full, images) = batcher.Counts;
        Assert.Equal((2L, 2L, 8L), (batches, full, images));
        for (var i = 0; i < 8; i++)
            Assert.InRange(EmbeddingFixture.MaxAbsDifference(consumer.Results[i], fixture.Reference[i % EmbeddingFixture.ImageCount]), 0, 1e-3);
    }

    [Fact]
    public async Task A_partial_batch_runs_once_the_announced_work_is_in_or_withdrawn()
    {
        await using var batcher = new EmbeddingBatcher(fixture.PixelsSession, batchSize: 8, maxWait: TimeSpan.FromMilliseconds(20));
        var consumer = new Collect(3);
        batcher.Expect(5);
        for (var i = 0; i < 3; i++) batcher.Submit(fixture.Crops[i], consumer, i, expected: true);
        // two announced crops are still outstanding: the three wait (well past the 20 ms rule)
        Assert.False(consumer.Done.Wait(TimeSpan.FromMilliseconds(500)));
        Assert.Equal(0L, batcher.Counts.Batches);
        // those two will never come (quarantined): the work is draining, the partial batch runs
        batcher.Withdraw(2);
        Assert.True(consumer.Done.Wait(TimeSpan.FromSeconds(30)));
        Assert.Equal((1L, 0L, 3L), batcher.Counts);
    }

    [Fact]
    public void Batch_size_is_measured_once_and_then_read_from_beside_the_prepared_model()
    {
        var session = fixture.PixelsSession;
        foreach (var stale in Directory.GetFiles(Path.GetDirectoryName(session.PreparedModelPath)!, "*.batch")) File.Delete(stale);
        var trials = 0;
        Assert.Equal(48, PreparedModelCache.BatchSize(session, () => { trials++; return 48; }));
        Assert.Equal(48, PreparedModelCache.BatchSize(session, () => { trials++; return 96; }));
        Assert.Equal(1, trials);
        var file = Assert.Single(Directory.GetFiles(Path.GetDirectoryName(session.PreparedModelPath)!, "*.batch"));
        Assert.StartsWith(session.PreparedModelPath, file);
        // a damaged file is measured anew, never trusted
        File.WriteAllText(file, "not a number");
        Assert.Equal(64, PreparedModelCache.BatchSize(session, () => { trials++; return 64; }));
        Assert.Equal(2, trials);
    }
}
