using Pipeline.Corpus;
using Pipeline.Imaging;

namespace Pipeline.Jobs;

/// <summary>
/// The one set of rules a job's settings must meet, shared by the HTTP API (a submitted job), the command line (its
/// options, renamed to the option names) and the job services (every job, before it is planned). Each problem is one
/// sentence that names the setting by its job-file name (<c>image_size</c>, <c>resize_shorter</c>, ...).
/// </summary>
public static class JobSpecRules
{
    public static readonly string[] Devices = ["cpu", "cuda", "auto"];
    public static readonly string[] KnownSplits = [Splits.Train, Splits.Val, Splits.Test];
    public static readonly string[] Precisions = ["fp32", "fp16"];
    public const int MaxImageSide = 4096;

    /// <summary>The resize that goes with a crop when none is given: 256 for 224, else the same 8/7 ratio.</summary>
    public static int DefaultResizeShorter(int imageSize) => imageSize == 224 ? 256 : (int)Math.Round(imageSize * 8.0 / 7.0);

    /// <summary>One sentence per invalid setting of <paramref name="spec"/>, in a fixed order; empty when it is valid.</summary>
    public static List<string> Problems(JobSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var problems = new List<string>();
        if (!Path.IsPathFullyQualified(spec.Corpus)) problems.Add($"corpus must be an absolute path as every node sees it, not '{spec.Corpus}'");
        if (!Path.IsPathFullyQualified(spec.Output)) problems.Add($"output must be an absolute path as every node sees it, not '{spec.Output}'");
        OutputPathCheck.Validate(spec.Output, problems);
        if (spec.Splits is null || spec.Splits.Length == 0) problems.Add("splits must name at least one split (e.g. [\"train\", \"val\"])");
        else
            foreach (var split in spec.Splits)
                if (!KnownSplits.Contains(split)) problems.Add($"unknown split '{split}': use train, val or test");
        if (string.IsNullOrWhiteSpace(spec.Model)) problems.Add("model must be resnet18, a path to an .onnx file, or none");
        if (!Devices.Contains(spec.Device)) problems.Add($"unknown device '{spec.Device}': use cpu, cuda or auto");
        if (!Precisions.Contains(spec.Precision)) problems.Add($"unknown precision '{spec.Precision}': use fp32 or fp16");
        if (string.IsNullOrWhiteSpace(spec.Decoder)) problems.Add("decoder must not be empty (default, imagesharp or skia)");
        else if (spec.Decoder != "default" && !DecoderRegistry.Names.Contains(spec.Decoder, StringComparer.OrdinalIgnoreCase))
            problems.Add($"decoder {spec.Decoder} is not a decoder: use {string.Join(" or ", DecoderRegistry.Names)} (or leave it out for the fastest)");
        InRange("image_size", spec.ImageSize, 1, MaxImageSide, problems);
        InRange("resize_shorter", spec.ResizeShorter, 1, MaxImageSide, problems);
        if (spec.ResizeShorter > 0 && spec.ImageSize > 0 && spec.ResizeShorter < spec.ImageSize)
            problems.Add($"resize_shorter ({spec.ResizeShorter}) must be at least image_size ({spec.ImageSize}): the crop is cut from the resized image");
        if (spec.StoreShorter is { } store) InRange("store_shorter", store, 1, MaxImageSide, problems);
        InRange("store_quality", spec.StoreQuality, 1, 100, problems);
        InRange("partition_size", spec.PartitionSize, 1, 1_000_000, problems);
        InRange("batch_size", spec.BatchSize, 0, 4096, problems); // 0 = auto
        return problems;
    }

    /// <exception cref="InvalidDataException">every problem of <see cref="Problems"/>, joined by "; ".</exception>
    public static void ThrowIfInvalid(JobSpec spec)
    {
        var problems = Problems(spec);
        if (problems.Count > 0) throw new InvalidDataException(string.Join("; ", problems));
    }

    private static void InRange(string name, int value, int min, int max, List<string> problems)
    {
        if (value < min || value > max) problems.Add($"{name} must be between {min} and {max}, not {value}");
    }
}
