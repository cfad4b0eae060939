namespace Pipeline.Embedding;

/// <summary>The order of colour channels a model expects in its input tensor.</summary>
public enum ChannelOrder
{
    Rgb,
    Bgr,
}

/// <summary>The memory layout of a model's image input tensor.</summary>
public enum TensorLayout
{
    /// <summary>[batch, channel, height, width], as CNTK and PyTorch export.</summary>
    Nchw,

    /// <summary>[batch, height, width, channel], as TensorFlow exports.</summary>
    Nhwc,
}

/// <summary>
/// How to turn a uint8 RGB crop (HWC, 0..255) into a model's float input. In the model's channel order c:
/// <c>value[c,y,x] = (pixel[c,y,x] · Scale − MeanImage[c,y,x] − Mean[c]) / Std[c]</c>, where the mean image is
/// optional. The input size is the crop side (square crops); the output name and dimension come from the model.
/// </summary>
public sealed record ModelSpec
{
    /// <summary>The preset name, or "custom".</summary>
    public string Name { get; init; } = "custom";

    /// <summary>Crop side in pixels; must equal the model's input height and width.</summary>
    public int InputSize { get; init; } = 224;

    public ChannelOrder ChannelOrder { get; init; } = ChannelOrder.Rgb;

    public TensorLayout Layout { get; init; } = TensorLayout.Nchw;

    /// <summary>Multiplies the 0..255 pixel first (1/255 for models trained on 0..1 input).</summary>
    public float Scale { get; init; } = 1f;

    /// <summary>Per-channel mean, in the model's channel order, in units after <see cref="Scale"/>.</summary>
    public float[] Mean { get; init; } = [0f, 0f, 0f];

    /// <summary>Per-channel standard deviation, in the model's channel order.</summary>
    public float[] Std { get; init; } = [1f, 1f, 1f];

    /// <summary>
    /// An ONNX file whose float initializer of 3·InputSize² values ([1,3,H,W], model channel order) is subtracted
    /// per pixel, CNTK's ImageNet convention; relative paths resolve against the application directory.
    /// </summary>
    public string? MeanImagePath { get; init; }

    /// <summary>The CNTK ResNet-18 that Microsoft.ML.DnnImageFeaturizer.ResNet18 ships, next to the application.</summary>
    public static string DefaultModelPath =>
        Path.Combine(AppContext.BaseDirectory, "DnnImageModels", "ResNet18Onnx", "ResNet18.onnx");

    /// <summary>Its preprocessing graph (RGB→BGR, minus a mean image), whose mean image the default preset uses.</summary>
    public static string DefaultPreprocessModelPath =>
        Path.Combine(AppContext.BaseDirectory, "DnnImageModels", "ResNetPrepOnnx", "ResNetPreprocess.onnx");

    /// <summary>ResNetPreprocess.onnx reproduced: 0..255 BGR minus CNTK's ImageNet mean image.</summary>
    public static ModelSpec ResNet18Cntk { get; } = new()
    {
        Name = "resnet18-cntk",
        ChannelOrder = ChannelOrder.Bgr,
        MeanImagePath = Path.Combine("DnnImageModels", "ResNetPrepOnnx", "ResNetPreprocess.onnx"),
    };

    /// <summary>torchvision's ImageNet models: RGB, 0..1, mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225).</summary>
    public static ModelSpec ImageNetTorchvision { get; } = new()
    {
        Name = "imagenet-torchvision",
        ChannelOrder = ChannelOrder.Rgb,
        Scale = 1f / 255f,
        Mean = [0.485f, 0.456f, 0.406f],
        Std = [0.229f, 0.224f, 0.225f],
    };

    /// <summary>The preset of that name ("resnet18-cntk", "imagenet-torchvision").</summary>
    public static ModelSpec Preset(string name) => name.ToLowerInvariant() switch
    {
        "resnet18-cntk" => ResNet18Cntk,
        "imagenet-torchvision" => ImageNetTorchvision,
        _ => throw new ArgumentException(
            $"unknown model preset '{name}': use resnet18-cntk or imagenet-torchvision, or set the normalisation explicitly",
            nameof(name)),
    };

    /// <summary>Bytes of one uint8 RGB crop (HWC).</summary>
    public int CropBytes => InputSize * InputSize * 3;

    /// <summary>Throws a clear error for a spec that cannot describe an image model input.</summary>
    public void Validate()
    {
        if (InputSize < 1 || InputSize > 8192)
            throw new ArgumentException($"model input size {InputSize} is outside 1..8192");
        if (Mean.Length != 3 || Std.Length != 3)
            throw new ArgumentException($"model spec '{Name}' needs 3 means and 3 stds, got {Mean.Length} and {Std.Length}");
        for (var c = 0; c < 3; c++)
        {
            if (!float.IsFinite(Std[c]) || Std[c] == 0f)
                throw new ArgumentException($"model spec '{Name}' has std {Std[c]} for channel {c}; it must be finite and non-zero");
            if (!float.IsFinite(Mean[c]))
                throw new ArgumentException($"model spec '{Name}' has mean {Mean[c]} for channel {c}");
        }
        if (!float.IsFinite(Scale) || Scale == 0f)
            throw new ArgumentException($"model spec '{Name}' has scale {Scale}; it must be finite and non-zero");
    }

    /// <summary>The mean image file as an absolute path, or null.</summary>
    public string? ResolvedMeanImagePath =>
        MeanImagePath is null ? null : Path.GetFullPath(MeanImagePath, AppContext.BaseDirectory);

    /// <summary>A stable text of everything that changes the model's numbers (for cache keys and job hashes).</summary>
    public string NormalisationKey(string? meanImageSha256) => string.Create(
        System.Globalization.CultureInfo.InvariantCulture,
        $"size={InputSize};order={ChannelOrder};layout={Layout};scale={Scale:R};mean={Mean[0]:R},{Mean[1]:R},{Mean[2]:R};" +
        $"std={Std[0]:R},{Std[1]:R},{Std[2]:R};meanimage={meanImageSha256 ?? "none"}");
}
