using System.Reflection;
using System.Text.Json;
using Pipeline.Corpus;
using Pipeline.Jobs;

namespace Pipeline.Cluster.Api;

/// <summary>A submit request the API refuses, with every problem found (each one a sentence a user can act on).</summary>
public sealed class JobRequestException(IReadOnlyList<string> problems)
    : Exception(string.Join("; ", problems))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}

/// <summary>
/// Turns the body of <c>POST /jobs</c> into a <see cref="JobSpec"/>: the job file's snake_case JSON
/// (<see cref="JobJson.Options"/>), with corpus and output required, unknown fields refused (a typo must not fall back to a
/// default silently) and every setting range-checked before the coordinator sees it.
/// </summary>
public static class JobRequest
{
    public static readonly string[] Devices = ["cpu", "cuda", "auto"];
    public static readonly string[] KnownSplits = [Splits.Train, Splits.Val, Splits.Test];
    public static readonly string[] Precisions = ["fp32", "fp16"];
    public const int MaxImageSide = 4096;

    // the JobSpec properties as JSON names, read once: the request follows JobSpec as it grows
    private static readonly HashSet<string> KnownFields = JobSpecFields();

    public static JobSpec Parse(string body)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException e)
        {
            throw new JobRequestException([$"the body is not valid JSON ({FirstSentence(e.Message)})"]);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new JobRequestException(["the body must be a JSON object with at least corpus and output"]);

            var problems = new List<string>();
            foreach (var property in root.EnumerateObject())
                if (!KnownFields.Contains(property.Name))
                    problems.Add($"unknown field '{property.Name}' (known: {string.Join(", ", KnownFields.Order(StringComparer.Ordinal))})");
            RequireString(root, "corpus", problems);
            RequireString(root, "output", problems);
            if (problems.Count > 0) throw new JobRequestException(problems);

            JobSpec spec;
            try
            {
                spec = root.Deserialize<JobSpec>(JobJson.Options) ?? throw new JobRequestException(["the body is empty"]);
            }
            catch (JsonException e)
            {
                var field = e.Path is { Length: > 2 } path ? path[2..] : "?";
                throw new JobRequestException([$"field '{field}' has a value of the wrong type"]);
            }
            // like the command line: a larger crop without a resize keeps the 8/7 ratio of 256/224
            if (!root.TryGetProperty("resize_shorter", out _))
                spec = spec with { ResizeShorter = spec.ImageSize == 224 ? 256 : (int)Math.Round(spec.ImageSize * 8.0 / 7.0) };
            Validate(spec, problems);
            if (problems.Count > 0) throw new JobRequestException(problems);
            return spec;
        }
    }

    /// <summary>Adds one sentence per invalid setting of <paramref name="spec"/>.</summary>
    public static void Validate(JobSpec spec, List<string> problems)
    {
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
        InRange("image_size", spec.ImageSize, 1, MaxImageSide, problems);
        InRange("resize_shorter", spec.ResizeShorter, 1, MaxImageSide, problems);
        if (spec.ResizeShorter > 0 && spec.ImageSize > 0 && spec.ResizeShorter < spec.ImageSize)
            problems.Add($"resize_shorter ({spec.ResizeShorter}) must be at least image_size ({spec.ImageSize}): the crop is cut from the resized image");
        if (spec.StoreShorter is { } store) InRange("store_shorter", store, 1, MaxImageSide, problems);
        InRange("store_quality", spec.StoreQuality, 1, 100, problems);
        InRange("partition_size", spec.PartitionSize, 1, 1_000_000, problems);
        InRange("batch_size", spec.BatchSize, 0, 4096, problems); // 0 = auto
    }

    private static void InRange(string name, int value, int min, int max, List<string> problems)
    {
        if (value < min || value > max) problems.Add($"{name} must be between {min} and {max}, not {value}");
    }

    private static void RequireString(JsonElement root, string name, List<string> problems)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            problems.Add($"{name} is required");
        else if (value.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(value.GetString()))
            problems.Add($"{name} must be a non-empty string (a folder path)");
    }

    private static HashSet<string> JobSpecFields()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in typeof(JobSpec).GetProperties(BindingFlags.Public | BindingFlags.Instance))
            if (property.CanWrite) names.Add(JobJson.Options.PropertyNamingPolicy!.ConvertName(property.Name));
        return names;
    }

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return end > 0 ? message[..end] : message.TrimEnd('.');
    }
}
