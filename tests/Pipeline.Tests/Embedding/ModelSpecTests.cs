using Microsoft.ML.OnnxRuntime;
using Pipeline.Embedding;

namespace Pipeline.Tests.Embedding;

[Collection(EmbeddingCollection.Name)]
public sealed class ModelSpecTests(EmbeddingFixture fixture)
{
    private const int Side = 8;

    private string TinyDirectory => Path.Combine(fixture.CacheDirectory, "tiny");

    private static byte[] Crops(int count)
    {
        var all = new byte[count * Side * Side * 3];
        for (var i = 0; i < count; i++) EmbeddingFixture.NaturalCrop(100 + i, Side).CopyTo(all, i * Side * Side * 3);
        return all;
    }

    private void AssertChannelMeans(string modelPath, ModelSpec spec, EmbeddingInput input, float[]? meanImage)
    {
        using var session = EmbeddingSession.Open(fixture.Options() with { ModelPath = modelPath, Spec = spec, Input = input });
        Assert.Equal(3, session.Dimension);
        const int count = 3;
        var crops = Crops(count);
        var embeddings = new float[count * 3];
        session.Embed(crops, count, embeddings);
        for (var i = 0; i < count; i++)
        {
            var crop = crops.AsSpan(i * Side * Side * 3, Side * Side * 3).ToArray();
            var expected = TinyModels.ExpectedChannelMeans(crop, Side, spec, meanImage);
            Assert.InRange(EmbeddingFixture.MaxAbsDifference(embeddings.AsSpan(i * 3, 3), expected), 0, 1e-4);
        }
    }

    [Theory]
    [InlineData(EmbeddingInput.PixelsInGraph)]
    [InlineData(EmbeddingInput.HostFloat)]
    public void Torchvision_preset_scales_and_standardises_rgb(EmbeddingInput input)
    {
        var model = TinyModels.ChannelMeanNchw(TinyDirectory, Side);
        AssertChannelMeans(model, ModelSpec.ImageNetTorchvision with { InputSize = Side }, input, null);
    }

    [Theory]
    [InlineData(EmbeddingInput.PixelsInGraph)]
    [InlineData(EmbeddingInput.HostFloat)]
    public void Bgr_spec_with_mean_and_std_reorders_channels(EmbeddingInput input)
    {
        var model = TinyModels.ChannelMeanNchw(TinyDirectory, Side);
        var spec = new ModelSpec { InputSize = Side, ChannelOrder = ChannelOrder.Bgr, Scale = 0.5f, Mean = [10f, 20f, 30f], Std = [2f, 4f, 8f] };
        AssertChannelMeans(model, spec, input, null);
    }

    [Theory]
    [InlineData(EmbeddingInput.PixelsInGraph)]
    [InlineData(EmbeddingInput.HostFloat)]
    public void Mean_image_is_subtracted_per_pixel(EmbeddingInput input)
    {
        var meanImage = new float[3 * Side * Side];
        for (var i = 0; i < meanImage.Length; i++) meanImage[i] = 50f + (i * 37 % 101);
        var meanFile = TinyModels.MeanImage(TinyDirectory, Side, meanImage);
        var model = TinyModels.ChannelMeanNchw(TinyDirectory, Side);
        var spec = new ModelSpec { InputSize = Side, ChannelOrder = ChannelOrder.Bgr, MeanImagePath = meanFile, Std = [1f, 2f, 3f] };
        AssertChannelMeans(model, spec, input, meanImage);
    }

    [Theory]
    [InlineData(EmbeddingInput.PixelsInGraph)]
    [InlineData(EmbeddingInput.HostFloat)]
    public void Nhwc_model_layout_is_fed_interleaved(EmbeddingInput input)
    {
        var meanImage = new float[3 * Side * Side];
        for (var i = 0; i < meanImage.Length; i++) meanImage[i] = i % 7;
        var meanFile = TinyModels.MeanImage(TinyDirectory, Side, meanImage);
        var model = TinyModels.ChannelMeanNhwc(TinyDirectory, Side);
        var spec = ModelSpec.ImageNetTorchvision with { InputSize = Side, Layout = TensorLayout.Nhwc, MeanImagePath = meanFile };
        AssertChannelMeans(model, spec, input, meanImage);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void Resnet_with_a_per_channel_bgr_spec_matches_hand_normalised_input()
    {
        // CNTK's mean image reduced to one mean per channel: the generic path, not the preset.
        var spec = new ModelSpec { Name = "resnet18-bgr-channel-mean", ChannelOrder = ChannelOrder.Bgr, Mean = [103.06f, 115.90f, 123.15f] };
        using var session = EmbeddingSession.Open(fixture.Options() with { Spec = spec });
        using var raw = new InferenceSession(ModelSpec.DefaultModelPath);
        const int side = EmbeddingFixture.Side, plane = side * side;
        for (var i = 0; i < 2; i++)
        {
            var crop = fixture.Crops[i];
            var input = new float[3 * plane];
            for (var p = 0; p < plane; p++)
            {
                for (var c = 0; c < 3; c++) input[c * plane + p] = crop[p * 3 + (2 - c)] - spec.Mean[c];
            }
            using var value = OrtValue.CreateTensorValueFromMemory(input, [1, 3, side, side]);
            using var output = raw.Run(new RunOptions(), ["Input247"], [value], ["Pooling395_Output_0"]);
            var expected = output[0].GetTensorDataAsSpan<float>();
            Assert.InRange(EmbeddingFixture.MaxAbsDifference(session.Embed(crop), expected), 0, 1e-3);
        }
    }

    [Fact]
    public void Spec_size_that_disagrees_with_the_model_is_a_clear_error()
    {
        var model = TinyModels.ChannelMeanNchw(TinyDirectory, Side);
        var e = Assert.Throws<InvalidDataException>(() =>
            EmbeddingSession.Open(fixture.Options() with { ModelPath = model, Spec = ModelSpec.ImageNetTorchvision with { InputSize = 16 } }));
        Assert.Contains("height 8", e.Message);
        Assert.Contains("16", e.Message);
    }

    [Fact]
    public void Presets_are_found_by_name_and_unknown_ones_refused()
    {
        Assert.Same(ModelSpec.ResNet18Cntk, ModelSpec.Preset("resnet18-cntk"));
        Assert.Same(ModelSpec.ImageNetTorchvision, ModelSpec.Preset("imagenet-torchvision"));
        var e = Assert.Throws<ArgumentException>(() => ModelSpec.Preset("vgg-caffe"));
        Assert.Contains("vgg-caffe", e.Message);
    }

    [Fact]
    public void Zero_std_is_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => PixelNormalisation.Create(new ModelSpec { Std = [1f, 0f, 1f] }));
        Assert.Contains("std", e.Message);
    }
}
