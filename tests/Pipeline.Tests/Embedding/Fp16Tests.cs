using Pipeline.Embedding;

namespace Pipeline.Tests.Embedding;

[Collection(EmbeddingCollection.Name)]
public sealed class Fp16Tests(EmbeddingFixture fixture)
{
    [Fact]
    public void Fp16_embeddings_agree_with_fp32_to_cosine_0999()
    {
        // The CPU provider runs the float16 graph (float16 weights, float16 pixels and activations between nodes,
        // computed through casts where it lacks float16 kernels); the H100 run checks true float16 arithmetic.
        using var session = EmbeddingSession.Open(fixture.Options() with { Precision = EmbeddingPrecision.Fp16 });
        Assert.Equal(512, session.Dimension);
        var embeddings = new float[EmbeddingFixture.ImageCount * 512];
        session.Embed(fixture.AllCrops, EmbeddingFixture.ImageCount, embeddings);
        for (var i = 0; i < EmbeddingFixture.ImageCount; i++)
        {
            var half = embeddings.AsSpan(i * 512, 512);
            Assert.InRange(EmbeddingFixture.Cosine(half, fixture.Reference[i]), 0.999, 1.0000001);
            // float16 rounds: the results are close, but not the float32 numbers.
            Assert.InRange(EmbeddingFixture.MaxAbsDifference(half, fixture.Reference[i]), 1e-6, 0.5);
        }
    }
}
