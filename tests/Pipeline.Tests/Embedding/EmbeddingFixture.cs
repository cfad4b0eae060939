using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Pipeline.Embedding;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace Pipeline.Tests.Embedding;

[CollectionDefinition(Name)]
public sealed class EmbeddingCollection : ICollectionFixture<EmbeddingFixture>
{
    // The CPU model runs ~44 images/s on 2 cores: tests share one fixture and do not run in parallel.
    public const string Name = "Embedding";
}

/// <summary>
/// Natural-looking 224×224 crops made with ImageSharp, the CNTK reference chain (ResNetPreprocess.onnx then
/// ResNet18.onnx at batch 1) and its embeddings, and the sessions under test, shared by the embedding tests.
/// </summary>
public sealed class EmbeddingFixture : IDisposable
{
    public const int Side = 224;
    public const int CropBytes = Side * Side * 3;
    public const int ImageCount = 4;

    private readonly Lazy<EmbeddingSession> _pixels;
    private readonly Lazy<EmbeddingSession> _hostFloat;

    public EmbeddingFixture()
    {
        CacheDirectory = Path.Combine(Path.GetTempPath(), "pipeline-embedding-tests-" + Guid.NewGuid().ToString("N")[..8]);
        Crops = new byte[ImageCount][];
        for (var i = 0; i < ImageCount; i++) Crops[i] = NaturalCrop(seed: 17 + i, Side);
        AllCrops = new byte[ImageCount * CropBytes];
        for (var i = 0; i < ImageCount; i++) Crops[i].CopyTo(AllCrops, i * CropBytes);
        Reference = ReferenceEmbeddings(Crops);
        _pixels = new(() => EmbeddingSession.Open(Options()));
        _hostFloat = new(() => EmbeddingSession.Open(Options() with { Input = EmbeddingInput.HostFloat }));
    }

    public string CacheDirectory { get; }

    public byte[][] Crops { get; }

    /// <summary>The crops back to back, uint8 RGB HWC.</summary>
    public byte[] AllCrops { get; }

    /// <summary>Embeddings of the crops by ResNetPreprocess.onnx chained with ResNet18.onnx, one image per run.</summary>
    public float[][] Reference { get; }

    /// <summary>The default path: uint8 pixels normalised in the graph, fp32, CPU.</summary>
    public EmbeddingSession PixelsSession => _pixels.Value;

    public EmbeddingSession HostFloatSession => _hostFloat.Value;

    public EmbeddingOptions Options() => new()
    {
        ModelPath = ModelSpec.DefaultModelPath,
        Spec = ModelSpec.ResNet18Cntk,
        Device = EmbeddingDevice.Cpu,
        CacheDirectory = CacheDirectory,
    };

    /// <summary>Sky-to-ground gradients, a few soft blobs, fine noise, blurred and resized as a camera pipeline would.</summary>
    public static byte[] NaturalCrop(int seed, int side)
    {
        var random = new Random(seed);
        var source = side * 3 / 2;
        using var image = new Image<Rgb24>(source, source);
        var blobs = new (double X, double Y, double R, double Cr, double Cg, double Cb)[5];
        for (var b = 0; b < blobs.Length; b++)
            blobs[b] = (random.NextDouble() * source, random.NextDouble() * source, 10 + random.NextDouble() * source / 3,
                random.Next(-120, 120), random.Next(-120, 120), random.Next(-120, 120));
        double top = random.Next(60, 200), bottom = random.Next(20, 140), tint = random.Next(-40, 40);
        for (var y = 0; y < source; y++)
        {
            for (var x = 0; x < source; x++)
            {
                var t = (double)y / source;
                double r = top * (1 - t) + bottom * t + tint, g = top * (1 - t) + (bottom + 30) * t, bl = (top + 40) * (1 - t) + bottom * t - tint;
                foreach (var blob in blobs)
                {
                    var d2 = ((x - blob.X) * (x - blob.X) + (y - blob.Y) * (y - blob.Y)) / (blob.R * blob.R);
                    var w = Math.Exp(-d2);
                    r += blob.Cr * w;
                    g += blob.Cg * w;
                    bl += blob.Cb * w;
                }
                var noise = random.Next(-25, 26);
                image[x, y] = new Rgb24(Clamp(r + noise), Clamp(g + noise), Clamp(bl + random.Next(-25, 26)));
            }
        }
        image.Mutate(c => c.GaussianBlur(0.8f).Resize(side, side, KnownResamplers.Bicubic));
        var pixels = new byte[side * side * 3];
        image.CopyPixelDataTo(pixels);
        return pixels;
    }

    private static byte Clamp(double v) => (byte)Math.Clamp((int)Math.Round(v), 0, 255);

    /// <summary>The NCHW float RGB 0..255 tensor ML.NET feeds ResNetPreprocess.onnx.</summary>
    public static float[] ToFloatNchw(byte[] crop, int side)
    {
        var plane = side * side;
        var values = new float[3 * plane];
        for (var p = 0; p < plane; p++)
        {
            for (var c = 0; c < 3; c++) values[c * plane + p] = crop[p * 3 + c];
        }
        return values;
    }

    private static float[][] ReferenceEmbeddings(byte[][] crops)
    {
        using var preprocess = new InferenceSession(ModelSpec.DefaultPreprocessModelPath);
        using var model = new InferenceSession(ModelSpec.DefaultModelPath);
        var result = new float[crops.Length][];
        for (var i = 0; i < crops.Length; i++)
        {
            using var input = OrtValue.CreateTensorValueFromMemory(ToFloatNchw(crops[i], Side), [1, 3, Side, Side]);
            using var prepared = preprocess.Run(new RunOptions(), ["OriginalInput"], [input], ["PreprocessedInput"]);
            using var output = model.Run(new RunOptions(), ["Input247"], [prepared[0]], ["Pooling395_Output_0"]);
            result[i] = output[0].GetTensorDataAsSpan<float>().ToArray();
        }
        return result;
    }

    public static double MaxAbsDifference(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Assert.Equal(a.Length, b.Length);
        var max = 0.0;
        for (var i = 0; i < a.Length; i++) max = Math.Max(max, Math.Abs((double)a[i] - b[i]));
        return max;
    }

    public static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }
        return dot / Math.Sqrt(na * nb);
    }

    public void Dispose()
    {
        if (_pixels.IsValueCreated) _pixels.Value.Dispose();
        if (_hostFloat.IsValueCreated) _hostFloat.Value.Dispose();
        try
        {
            Directory.Delete(CacheDirectory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
