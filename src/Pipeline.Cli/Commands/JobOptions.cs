using System.ComponentModel;
using Pipeline.Jobs;
using Spectre.Console.Cli;

namespace Pipeline.Cli.Commands;

/// <summary>The job settings shared by `run` and `submit`.</summary>
public class JobOptions : CommandSettings
{
    [CommandOption("--corpus <DIR>")]
    [Description("Corpus root (the release's JSON files and train_val_images/). run: omitted = generate a small demo corpus.")]
    public string? Corpus { get; init; }

    [CommandOption("--out <DIR>")]
    [Description("Output folder (parts, state and the merged dataset). Default: pipeline-output")]
    public string? Out { get; init; }

    [CommandOption("--splits <LIST>")]
    [Description("Comma-separated splits to process. Default: train,val")]
    [DefaultValue("train,val")]
    public string Splits { get; init; } = "train,val";

    [CommandOption("--device <DEVICE>")]
    [Description("Embedding device: cpu or cuda. Default: cpu")]
    [DefaultValue("cpu")]
    public string Device { get; init; } = "cpu";

    [CommandOption("--fallback-cpu")]
    [Description("With --device cuda: use the CPU when CUDA is not available instead of failing")]
    public bool FallbackCpu { get; init; }

    [CommandOption("--precision <P>")]
    [Description("fp32 or fp16 (fp16: model converted once at load, cached by model hash). Default: fp32")]
    [DefaultValue("fp32")]
    public string Precision { get; init; } = "fp32";

    [CommandOption("--model <FILE>")]
    [Description("resnet18 (the packaged ImageNet ResNet-18), an .onnx file, or none for no embeddings. Default: resnet18")]
    [DefaultValue("resnet18")]
    public string Model { get; init; } = "resnet18";

    [CommandOption("--model-preset <NAME>")]
    [Description("Input convention of a --model file: resnet18-cntk or imagenet-torchvision")]
    public string? ModelPreset { get; init; }

    [CommandOption("--decoder <NAME>")]
    [Description("JPEG decoder backend: imagesharp or skia. Default: the measured fastest")]
    [DefaultValue("default")]
    public string Decoder { get; init; } = "default";

    [CommandOption("--image-size <PX>")]
    [Description("Centre crop fed to the model. Default: 224")]
    [DefaultValue(224)]
    public int ImageSize { get; init; } = 224;

    [CommandOption("--resize <PX>")]
    [Description("Shorter side before the crop. Default: 256 (or image-size x 8/7)")]
    public int? Resize { get; init; }

    [CommandOption("--store-images <PX>")]
    [Description("Also store each image re-encoded as JPEG with this shorter side (the `image` column)")]
    public int? StoreImages { get; init; }

    [CommandOption("--partition-size <N>")]
    [Description("Images per partition. Default: 1000")]
    [DefaultValue(1000)]
    public int PartitionSize { get; init; } = 1000;

    [CommandOption("--batch <N>")]
    [Description("Embedding batch size; 0 = auto (16 on the CPU, measured fastest on CUDA). Default: 0")]
    [DefaultValue(0)]
    public int Batch { get; init; }

    public JobSpec ToSpec(string corpus, string output) => new()
    {
        Corpus = Path.GetFullPath(corpus),
        Output = Path.GetFullPath(output),
        Splits = Splits.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
        Model = Model,
        ModelPreset = ModelPreset,
        Device = Device,
        FallbackCpu = FallbackCpu,
        Precision = Precision,
        Decoder = Decoder,
        ImageSize = ImageSize,
        ResizeShorter = Resize ?? (ImageSize == 224 ? 256 : (int)Math.Round(ImageSize * 8.0 / 7.0)),
        StoreShorter = StoreImages,
        PartitionSize = PartitionSize,
        BatchSize = Batch,
    };
}
