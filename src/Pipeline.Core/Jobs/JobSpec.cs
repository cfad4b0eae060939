using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pipeline.Jobs;

/// <summary>
/// What a job is asked to do: inputs, output, model and preprocessing settings. Small and immutable: it travels in
/// cluster messages and in the job file of one-shot jobs. Paths are as every node sees them (a shared volume).
/// </summary>
public sealed record JobSpec
{
    public required string Corpus { get; init; }
    public required string Output { get; init; }
    /// <summary>Splits to process, in order; the iNat2017 train+val set by default (675,170 images at full scale).</summary>
    public string[] Splits { get; init; } = ["train", "val"];
    /// <summary>"resnet18" (the packaged ImageNet ResNet-18), a path to an .onnx file, or "none" for no embeddings.</summary>
    public string Model { get; init; } = "resnet18";
    /// <summary>Preset name of the model's input convention when <see cref="Model"/> is a file (see ModelSpec presets).</summary>
    public string? ModelPreset { get; init; }
    public string Device { get; init; } = "cpu";
    public bool FallbackCpu { get; init; }
    public string Precision { get; init; } = "fp32";
    public string Decoder { get; init; } = "default";
    /// <summary>Shorter side before the centre crop, in pixels.</summary>
    public int ResizeShorter { get; init; } = 256;
    /// <summary>Centre crop fed to the model, in pixels (the model's input size).</summary>
    public int ImageSize { get; init; } = 224;
    /// <summary>Shorter side of the stored JPEG copy; null stores no image bytes.</summary>
    public int? StoreShorter { get; init; }
    public int StoreQuality { get; init; } = 90;
    /// <summary>Images per partition (a partition never spans two (split, super-class) groups).</summary>
    public int PartitionSize { get; init; } = 1000;
    /// <summary>Embedding batch size; 0 = auto: 16 on the CPU, and on CUDA the fastest of 64..512 by a short trial.</summary>
    public int BatchSize { get; init; }
    /// <summary>Use an output folder that holds files Pipeline did not write (they are left alone); not part of the job id.</summary>
    public bool AllowNonEmptyOut { get; init; }

    /// <summary>The settings that change the output; the job id hashes these with the corpus and model fingerprints.</summary>
    public string SettingsFingerprint() =>
        $"splits={string.Join(',', Splits)};model={Model};preset={ModelPreset};precision={Precision};decoder={Decoder};" +
        $"resize={ResizeShorter};crop={ImageSize};store={StoreShorter};q={StoreQuality};psize={PartitionSize}";

    public string ToJson() => JsonSerializer.Serialize(this, JobJson.Options);

    // by value, arrays included: the same job submitted twice is equal (a record compares the Splits array by reference)
    public bool Equals(JobSpec? other) =>
        other is not null && (ReferenceEquals(this, other) || string.Equals(ToJson(), other.ToJson(), StringComparison.Ordinal));

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(ToJson());

    public static JobSpec FromJson(string json, string source)
    {
        try
        {
            return JsonSerializer.Deserialize<JobSpec>(json, JobJson.Options)
                   ?? throw new InvalidDataException($"{source}: the job file is empty");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: not a valid job file: {e.Message}", e);
        }
    }
}

/// <summary>Identity of a job: a hash of its inputs, output folder, model and preprocessing settings (docs/architecture.md, "Contracts").</summary>
public static class JobIdentity
{
    /// <summary>16 hex digits of sha256(corpus fingerprint, output folder, model sha256, settings): the same corpus sent to
    /// another folder is another job.</summary>
    public static string Compute(JobSpec spec, string corpusFingerprint, string modelSha256)
    {
        var text = $"corpus={corpusFingerprint};output={OutputKey(spec.Output)};model-sha256={modelSha256};{spec.SettingsFingerprint()}";
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
    }

    /// <summary>The output folder as one string per folder: absolute, without a trailing separator.</summary>
    public static string OutputKey(string output) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(output));

    /// <summary>sha256 over the names, sizes and contents of the corpus's annotation files (not the JPEGs).</summary>
    public static string CorpusFingerprint(string corpusRoot)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        foreach (var name in CorpusFiles)
        {
            var path = Path.Combine(corpusRoot, name);
            if (!File.Exists(path)) continue;
            hash.AppendData(Encoding.UTF8.GetBytes(name));
            using var stream = File.OpenRead(path);
            int read;
            while ((read = stream.Read(buffer, 0, buffer.Length)) > 0) hash.AppendData(buffer, 0, read);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static readonly string[] CorpusFiles =
        ["train2017.json", "val2017.json", "test2017.json", "train_2017_bboxes.json", "val_2017_bboxes.json"];
}

/// <summary>An enum as a snake_case JSON string ("merging", not 3), on the wire and at the HTTP edge alike.</summary>
public sealed class SnakeCaseEnumConverter<TEnum>() : JsonStringEnumConverter<TEnum>(JsonNamingPolicy.SnakeCaseLower)
    where TEnum : struct, Enum;

public static class JobJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = true,
    };

    public static readonly JsonSerializerOptions Compact = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}
