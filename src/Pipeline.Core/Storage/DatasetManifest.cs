using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pipeline.Storage;

/// <summary>One file of the merged dataset; <see cref="Path"/> is relative to the dataset folder with '/' separators.</summary>
public sealed record DatasetFileEntry(string Path, long Rows, long Bytes, string Sha256);

/// <summary>The invariant of a job: input images = output rows + quarantined rows.</summary>
public sealed record ManifestTotals(long InputImages, long OutputRows, long Quarantined);

/// <summary>A recorded part the dataset was built from (provenance, and how a rerun recognises the same merge).</summary>
public sealed record ManifestPart(string Partition, int Attempt, long Rows, long ErrorRows, string Sha256, string ErrorsSha256);

/// <summary>
/// <c>_manifest.json</c>: what the dataset is (job, config hash, model sha256), every file with rows, bytes and sha256,
/// the totals, and the parts it was built from. Written before <c>_SUCCESS</c>.
/// </summary>
public sealed record DatasetManifest(
    int FormatVersion,
    string Job,
    string ConfigHash,
    string? ModelSha256,
    DateTimeOffset CreatedAt,
    ManifestTotals Totals,
    IReadOnlyList<DatasetFileEntry> Files,
    IReadOnlyList<ManifestPart> Parts)
{
    public const int CurrentFormatVersion = 1;

    public byte[] ToJsonUtf8() => JsonSerializer.SerializeToUtf8Bytes(this, ManifestJsonContext.Default.DatasetManifest);

    public static DatasetManifest Parse(ReadOnlySpan<byte> utf8Json) =>
        JsonSerializer.Deserialize(utf8Json, ManifestJsonContext.Default.DatasetManifest)
        ?? throw new InvalidDataException("_manifest.json is empty");

    public static async Task<DatasetManifest> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        byte[] bytes = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        try
        {
            return Parse(bytes);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a valid dataset manifest: {e.Message}", e);
        }
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(DatasetManifest))]
internal sealed partial class ManifestJsonContext : JsonSerializerContext;
