using System.Security.Cryptography;
using Onnx;
using Pipeline.Embedding;

namespace Pipeline.Tests.Embedding;

[Collection(EmbeddingCollection.Name)]
public sealed class ModelPreparationTests(EmbeddingFixture fixture)
{
    [Fact]
    public void Model_identity_is_the_sha256_of_the_file()
    {
        var expected = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(ModelSpec.DefaultModelPath)));
        Assert.Equal(expected, ModelIdentity.Sha256(ModelSpec.DefaultModelPath));
        Assert.Equal(expected, fixture.PixelsSession.ModelSha256);
    }

    [Fact]
    public void Job_key_changes_with_model_normalisation_and_precision()
    {
        var key = fixture.PixelsSession.JobKey;
        Assert.Contains(fixture.PixelsSession.ModelSha256, key);
        Assert.Equal(key, fixture.HostFloatSession.JobKey);
        using var torchvision = EmbeddingSession.Open(fixture.Options() with { Spec = ModelSpec.ImageNetTorchvision });
        Assert.NotEqual(key, torchvision.JobKey);
        Assert.Contains("precision=Fp32", key);
    }

    [Fact]
    public void Prepared_model_is_cached_by_model_hash_and_options()
    {
        var first = fixture.PixelsSession.PreparedModelPath;
        var written = File.GetLastWriteTimeUtc(first);
        Assert.StartsWith(fixture.CacheDirectory, first);
        Assert.StartsWith(fixture.PixelsSession.ModelSha256[..12], Path.GetFileName(first));
        using (var again = EmbeddingSession.Open(fixture.Options()))
        {
            Assert.Equal(first, again.PreparedModelPath);
        }
        Assert.Equal(written, File.GetLastWriteTimeUtc(first));
        Assert.NotEqual(first, fixture.HostFloatSession.PreparedModelPath);
        var normalisation = PixelNormalisation.Create(ModelSpec.ResNet18Cntk);
        var sha = fixture.PixelsSession.ModelSha256;
        Assert.NotEqual(
            PreparedModelCache.CacheKey(sha, normalisation, EmbeddingPrecision.Fp32, true),
            PreparedModelCache.CacheKey(sha, normalisation, EmbeddingPrecision.Fp16, true));
    }

    [Fact]
    public void Prepared_resnet_takes_uint8_pixels_with_a_symbolic_batch_and_has_no_batchnorm_left()
    {
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(fixture.PixelsSession.PreparedModelPath));
        var input = Assert.Single(model.Graph.Input);
        Assert.Equal(ModelGraphRewriter.PixelInputName, input.Name);
        Assert.Equal((int)TensorProto.Types.DataType.Uint8, input.Type.TensorType.ElemType);
        Assert.Equal(ModelGraphRewriter.BatchDimName, input.Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal([224L, 224L, 3L], [input.Type.TensorType.Shape.Dim[1].DimValue, input.Type.TensorType.Shape.Dim[2].DimValue, input.Type.TensorType.Shape.Dim[3].DimValue]);
        Assert.Equal(ModelGraphRewriter.BatchDimName, model.Graph.Output[0].Type.TensorType.Shape.Dim[0].DimParam);
        var batchNorms = 0;
        var convs = 0;
        foreach (var node in model.Graph.Node)
        {
            if (node.OpType == "BatchNormalization") batchNorms++;
            if (node.OpType == "Conv") convs++;
        }
        Assert.Equal(0, batchNorms);
        Assert.Equal(22, convs);
        // The RGB→BGR flip lives in the first Conv's weights, not in a Gather over every pixel.
        Assert.DoesNotContain(model.Graph.Node, n => n.OpType == "Gather");
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void Fp16_rewrite_stores_half_weights_and_keeps_a_float_interface()
    {
        var normalisation = PixelNormalisation.Create(ModelSpec.ResNet18Cntk);
        var path = PreparedModelCache.GetOrCreate(ModelSpec.DefaultModelPath, normalisation, EmbeddingPrecision.Fp16, true, fixture.CacheDirectory);
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        Assert.True(new FileInfo(path).Length < new FileInfo(ModelSpec.DefaultModelPath).Length * 0.6, "half weights halve the file");
        Assert.Equal((int)TensorProto.Types.DataType.Uint8, model.Graph.Input[0].Type.TensorType.ElemType);
        Assert.Equal((int)TensorProto.Types.DataType.Float, model.Graph.Output[0].Type.TensorType.ElemType);
        var half = 0;
        var single = 0;
        foreach (var t in model.Graph.Initializer)
        {
            if (t.DataType == (int)TensorProto.Types.DataType.Float16) half++;
            if (t.DataType == (int)TensorProto.Types.DataType.Float) single++;
        }
        // 22 Conv weights and biases, and the mean-image offset: the pixels are normalised in float16 too.
        Assert.Equal(45, half);
        Assert.Equal(0, single);
        Assert.Equal("Cast", model.Graph.Node[0].OpType);
        Assert.Equal((long)TensorProto.Types.DataType.Float16, model.Graph.Node[0].Attribute[0].I);
        Assert.Equal("Cast", model.Graph.Node[^1].OpType);
    }
}
