using Pipeline.Imaging;

namespace Pipeline.Tests.Imaging;

public class DecoderRegistryTests
{
    [Theory]
    [InlineData("imagesharp", typeof(ImageSharpDecoder))]
    [InlineData("ImageSharp", typeof(ImageSharpDecoder))]
    [InlineData("skia", typeof(SkiaDecoder))]
    [InlineData("SKIA", typeof(SkiaDecoder))]
    public void Name_selects_the_backend(string name, Type expected)
    {
        var decoder = DecoderRegistry.Create(name);
        Assert.IsType(expected, decoder);
        Assert.Equal(name.ToLowerInvariant(), decoder.Name);
    }

    [Fact]
    public void No_name_gives_the_default()
    {
        Assert.Equal(DecoderRegistry.DefaultName, DecoderRegistry.Create(null).Name);
        Assert.Equal(DecoderRegistry.DefaultName, DecoderRegistry.Create("").Name);
    }

    [Fact]
    public void Unknown_name_lists_the_known_ones()
    {
        var error = Assert.Throws<ArgumentException>(() => DecoderRegistry.Create("libvips"));
        Assert.Contains("libvips", error.Message);
        Assert.Contains("imagesharp", error.Message);
        Assert.Contains("skia", error.Message);
    }
}
