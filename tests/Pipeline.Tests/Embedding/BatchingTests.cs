using System.Diagnostics;
using Pipeline.Embedding;

namespace Pipeline.Tests.Embedding;

[Collection(EmbeddingCollection.Name)]
public sealed class BatchingTests(EmbeddingFixture fixture)
{
    private const int Dim = 512;

    [Fact]
    public void Batch_of_four_matches_four_single_runs()
    {
        var session = fixture.PixelsSession;
        var batched = new float[EmbeddingFixture.ImageCount * Dim];
        session.Embed(fixture.AllCrops, EmbeddingFixture.ImageCount, batched);
        for (var i = 0; i < EmbeddingFixture.ImageCount; i++)
        {
            var single = session.Embed(fixture.Crops[i]);
            Assert.InRange(EmbeddingFixture.MaxAbsDifference(batched.AsSpan(i * Dim, Dim), single), 0, 1e-4);
        }
    }

    [Fact]
    public void Batch_runner_with_io_binding_matches_the_reference()
    {
        using var runner = fixture.PixelsSession.CreateBatchRunner(EmbeddingFixture.ImageCount);
        Assert.False(runner.UsesPinnedMemory);
        // Two crops, then all four: a smaller shape first, then the full one, through the same buffers.
        fixture.AllCrops.AsSpan(0, 2 * EmbeddingFixture.CropBytes).CopyTo(runner.Pixels);
        runner.Run(2);
        Assert.Equal(2 * Dim, runner.Embeddings.Length);
        Assert.InRange(EmbeddingFixture.MaxAbsDifference(runner.Embeddings[Dim..], fixture.Reference[1]), 0, 1e-3);
        fixture.AllCrops.CopyTo(runner.Pixels);
        runner.Run(EmbeddingFixture.ImageCount);
        for (var i = 0; i < EmbeddingFixture.ImageCount; i++)
            Assert.InRange(EmbeddingFixture.MaxAbsDifference(runner.Embeddings.Slice(i * Dim, Dim), fixture.Reference[i]), 0, 1e-3);
    }

    [Fact]
    public void Host_float_batch_runner_normalises_on_the_host()
    {
        using var runner = fixture.HostFloatSession.CreateBatchRunner(2);
        fixture.AllCrops.AsSpan(2 * EmbeddingFixture.CropBytes, 2 * EmbeddingFixture.CropBytes).CopyTo(runner.Pixels);
        runner.Run(2);
        Assert.InRange(EmbeddingFixture.MaxAbsDifference(runner.Embeddings[..Dim], fixture.Reference[2]), 0, 1e-3);
        Assert.InRange(EmbeddingFixture.MaxAbsDifference(runner.Embeddings[Dim..], fixture.Reference[3]), 0, 1e-3);
    }

    [Fact]
    public async Task Parallel_callers_each_get_the_embedding_of_their_own_crop()
    {
        await using var batcher = new EmbeddingBatcher(fixture.PixelsSession, batchSize: 4, maxWait: TimeSpan.FromMilliseconds(50));
        // 12 callers on their own threads, three per image, in an order that mixes images within batches.
        var tasks = new Task<(int Image, float[] Embedding)>[12];
        using var start = new ManualResetEventSlim();
        for (var t = 0; t < tasks.Length; t++)
        {
            var image = (t * 3) % EmbeddingFixture.ImageCount;
            tasks[t] = Task.Run(async () =>
            {
                start.Wait();
                return (image, await batcher.EmbedAsync(fixture.Crops[image]));
            });
        }
        start.Set();
        var results = await Task.WhenAll(tasks);
        foreach (var (image, embedding) in results)
            Assert.InRange(EmbeddingFixture.MaxAbsDifference(embedding, fixture.Reference[image]), 0, 1e-3);
        var (batches, _, images) = batcher.Counts;
        Assert.Equal(12, images);
        Assert.True(batches < 12, $"12 parallel crops should share batches, ran {batches}");
    }

    [Fact]
    public async Task Batcher_runs_a_partial_batch_after_the_maximum_wait()
    {
        await using var batcher = new EmbeddingBatcher(fixture.PixelsSession, batchSize: 32, maxWait: TimeSpan.FromMilliseconds(30));
        var clock = Stopwatch.StartNew();
        var embedding = await batcher.EmbedAsync(fixture.Crops[0]).AsTask().WaitAsync(TimeSpan.FromSeconds(20));
        Assert.InRange(EmbeddingFixture.MaxAbsDifference(embedding, fixture.Reference[0]), 0, 1e-3);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(25), $"a lone crop waits for company first, answered after {clock.Elapsed}");
        var (batches, full, images) = batcher.Counts;
        Assert.Equal((1L, 0L, 1L), (batches, full, images));
    }

    [Fact]
    public async Task Batcher_runs_a_full_batch_without_waiting()
    {
        await using var batcher = new EmbeddingBatcher(fixture.PixelsSession, batchSize: 2, maxWait: TimeSpan.FromMinutes(10));
        var first = batcher.EmbedAsync(fixture.Crops[2]).AsTask();
        var second = batcher.EmbedAsync(fixture.Crops[3]).AsTask();
        var both = await Task.WhenAll(first, second).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.InRange(EmbeddingFixture.MaxAbsDifference(both[0], fixture.Reference[2]), 0, 1e-3);
        Assert.InRange(EmbeddingFixture.MaxAbsDifference(both[1], fixture.Reference[3]), 0, 1e-3);
        Assert.Equal((1L, 1L, 2L), batcher.Counts);
    }

    [Fact]
    public async Task Batcher_embeds_queued_crops_when_disposed()
    {
        var batcher = new EmbeddingBatcher(fixture.PixelsSession, batchSize: 8, maxWait: TimeSpan.FromMinutes(10));
        var pending = batcher.EmbedAsync(fixture.Crops[1]).AsTask();
        await batcher.DisposeAsync();
        var embedding = await pending.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.InRange(EmbeddingFixture.MaxAbsDifference(embedding, fixture.Reference[1]), 0, 1e-3);
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await batcher.EmbedAsync(fixture.Crops[1]));
    }

    [Fact]
    public async Task Crop_of_the_wrong_size_is_refused_with_a_clear_error()
    {
        await using var batcher = new EmbeddingBatcher(fixture.PixelsSession, batchSize: 4);
        var e = await Assert.ThrowsAsync<ArgumentException>(async () => await batcher.EmbedAsync(new byte[100 * 100 * 3]));
        Assert.Contains("224x224", e.Message);
        var direct = Assert.Throws<ArgumentException>(() => fixture.PixelsSession.Embed(new byte[10], 1, new float[Dim]));
        Assert.Contains("150528", direct.Message);
    }
}
