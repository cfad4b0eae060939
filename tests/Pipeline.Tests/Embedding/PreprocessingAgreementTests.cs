using Pipeline.Embedding;

namespace Pipeline.Tests.Embedding;

[Collection(EmbeddingCollection.Name)]
public sealed class PreprocessingAgreementTests(EmbeddingFixture fixture)
{
    [Fact]
    public void Model_files_are_copied_next_to_the_application()
    {
        Assert.True(File.Exists(ModelSpec.DefaultModelPath), ModelSpec.DefaultModelPath);
        Assert.True(File.Exists(ModelSpec.DefaultPreprocessModelPath), ModelSpec.DefaultPreprocessModelPath);
    }

    [Fact]
    public void Pixels_normalised_in_graph_match_the_CNTK_preprocess_chain_within_1e3()
    {
        for (var i = 0; i < EmbeddingFixture.ImageCount; i++)
        {
            var embedding = fixture.PixelsSession.Embed(fixture.Crops[i]);
            Assert.InRange(EmbeddingFixture.MaxAbsDifference(embedding, fixture.Reference[i]), 0, 1e-3);
        }
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void Host_float_normalisation_matches_the_CNTK_preprocess_chain_within_1e3()
    {
        for (var i = 0; i < EmbeddingFixture.ImageCount; i++)
        {
            var embedding = fixture.HostFloatSession.Embed(fixture.Crops[i]);
            Assert.InRange(EmbeddingFixture.MaxAbsDifference(embedding, fixture.Reference[i]), 0, 1e-3);
        }
    }

    [Fact]
    public void Embedding_has_the_512_floats_the_model_declares()
    {
        var session = fixture.PixelsSession;
        Assert.Equal(512, session.Dimension);
        Assert.Equal("Pooling395_Output_0", session.OutputName);
        Assert.Equal(ModelGraphRewriter.PixelInputName, session.InputName);
        var embedding = session.Embed(fixture.Crops[0]);
        Assert.Equal(512, embedding.Length);
        Assert.All(embedding, v => Assert.True(float.IsFinite(v) && v >= 0, "pooled ReLU features are finite and non-negative"));
    }

    [Fact]
    public void Different_images_give_different_embeddings()
    {
        var a = fixture.PixelsSession.Embed(fixture.Crops[0]);
        var b = fixture.PixelsSession.Embed(fixture.Crops[1]);
        Assert.True(EmbeddingFixture.MaxAbsDifference(a, b) > 0.05);
    }
}
