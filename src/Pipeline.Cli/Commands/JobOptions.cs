using System.ComponentModel;
using System.Text.RegularExpressions;
using Pipeline.Jobs;
using Spectre.Console.Cli;

namespace Pipeline.Cli.Commands;

/// <summary>
/// A help text that differs between the commands sharing an option: the common text, then the part for the command
/// being run (pairs of command name and suffix). Spectre reads the description when it renders help, after
/// <see cref="Command"/> is set from the command line.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class CommandDescriptionAttribute(string common, params string[] suffixOfCommand) : DescriptionAttribute(common)
{
    /// <summary>The command words of this process's command line ("run", "bench partitions").</summary>
    public static string Command { get; set; } = "";

    public override string Description
    {
        get
        {
            for (int i = 0; i + 1 < suffixOfCommand.Length; i += 2)
                if (suffixOfCommand[i] == Command) return base.Description + suffixOfCommand[i + 1];
            return base.Description;
        }
    }
}

/// <summary>The job settings shared by `run`, `submit` and `bench partitions`.</summary>
public partial class JobOptions : CommandSettings
{
    [CommandOption("--corpus <DIR>")]
    [CommandDescription("Corpus root (the release's JSON files and train_val_images/)",
        "run", "; omitted: a small demo corpus is generated in OUT/demo-corpus", "submit", ", required: the folder as every node sees it",
        "bench partitions", ", required")]
    public string? Corpus { get; init; }

    [CommandOption("--out <DIR>")]
    [CommandDescription("Output folder (parts, state and the merged dataset in OUT/dataset)",
        "run", ". Default: pipeline-output", "submit", ", required: the folder as every node sees it",
        "bench partitions", "; the parts written are deleted at the start of each bench. Default: pipeline-bench-output")]
    public string? Out { get; init; }

    [CommandOption("--splits <LIST>")]
    [Description("Comma-separated splits to process: train, val, test. Default: train,val")]
    [DefaultValue("train,val")]
    public string Splits { get; init; } = "train,val";

    [CommandOption("--device <DEVICE>")]
    [Description("Embedding device: cpu, cuda, or auto (cuda where available). Default: cpu")]
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

    /// <summary>
    /// Range and name checks of every job setting, before anything runs: the API's own rules for a submitted job
    /// (<see cref="JobSpecRules.Problems"/>) said with the command line's option names. Throws one line naming them.
    /// </summary>
    public void CheckValues()
    {
        // placeholders: the folders are checked by the command that uses them
        var spec = ToSpec(Path.GetTempPath(), Path.GetTempPath());
        var problems = JobSpecRules.Problems(spec);
        if (problems.Count > 0)
            throw new UserFacingException(string.Join("; ", problems.Select(p => SpecField().Replace(p, m => OptionOfField[m.Value]))));
    }

    private static readonly Dictionary<string, string> OptionOfField = new()
    {
        ["image_size"] = "--image-size", ["resize_shorter"] = "--resize", ["store_shorter"] = "--store-images",
        ["partition_size"] = "--partition-size", ["batch_size"] = "--batch", ["store_quality"] = "store quality",
        ["splits"] = "--splits", ["model"] = "--model", ["decoder"] = "--decoder",
    };

    [GeneratedRegex(@"(?<![-\w])(image_size|resize_shorter|store_shorter|partition_size|batch_size|store_quality|splits|model|decoder)\b(?= )")]
    private static partial Regex SpecField();

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
        ResizeShorter = Resize ?? JobSpecRules.DefaultResizeShorter(ImageSize),
        StoreShorter = StoreImages,
        PartitionSize = PartitionSize,
        BatchSize = Batch,
    };
}
